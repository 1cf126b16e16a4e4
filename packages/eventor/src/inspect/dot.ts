import { printable } from '../text.js';
import type { FlowGraph, GraphNode } from './graph.js';

/** A DOT quoted string; `text` is printable already, save for newlines meant as line breaks. */
export function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

/** The opening lines every drawing of a flow shares: left to right, one font. */
export function dotHeader(title: string, extra: readonly string[] = []): string[] {
  return [
    `digraph ${dotString(printable(title))} {`,
    '  rankdir=LR;',
    ...extra,
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
}

/** A node's shape attributes by its kind (a step's fill is the caller's). */
export function dotShape(node: GraphNode): string[] {
  if (node.kind === 'event') return ['shape=ellipse'];
  if (node.kind === 'step') return ['shape=box', 'style="rounded,filled"', 'fillcolor="#ffffff"'];
  return ['shape=circle', 'fontsize=9', 'width=0.4', 'fixedsize=true'];
}

/** One DOT line per edge: dotted expression edges, bold triggers (coloured by status), dashed delays. */
export function dotEdges(graph: FlowGraph): string[] {
  return graph.edges.map((edge) => {
    const attrs: string[] = [];
    if (edge.label !== undefined) attrs.push(`label=${dotString(printable(edge.label))}`);
    if (edge.kind === 'expr') attrs.push('style=dotted', 'arrowhead=empty');
    if (edge.kind === 'trigger') {
      attrs.push('style=bold');
      if (edge.label === 'failure') attrs.push('color="#c92a2a"');
      else if (edge.label === 'success') attrs.push('color="#2b8a3e"');
    }
    if (edge.kind === 'assoc' && edge.label !== undefined) attrs.push('style=dashed');
    return `  ${edge.from} -> ${edge.to}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`;
  });
}
