import { instance, type Viz } from '@viz-js/viz';
import type { FlowGraph } from '../inspect/graph.js';

/**
 * DOT for the page: laid out left to right like `eventor graph --format dot`, but uncoloured; each
 * node carries an SVG id (`n_<node id>`) and class, so the page colours steps by status with CSS
 * and a change of status never needs a new layout.
 */
export function pageDot(graph: FlowGraph, title: string): string {
  const lines = [
    `digraph ${dotString(title)} {`,
    '  rankdir=LR;',
    '  bgcolor="transparent";',
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const node of graph.nodes) {
    const attrs = [`id="n_${node.id}"`, `class="${node.kind}"`, `label=${dotString(node.name)}`];
    if (node.kind === 'event') attrs.push('shape=ellipse');
    else if (node.kind === 'step') attrs.push('shape=box', 'style="rounded,filled"', 'fillcolor="#ffffff"');
    else attrs.push('shape=circle', 'fontsize=9', 'width=0.4', 'fixedsize=true');
    lines.push(`  ${node.id} [${attrs.join(', ')}];`);
  }
  for (const edge of graph.edges) {
    const attrs: string[] = [];
    if (edge.label !== undefined) attrs.push(`label=${dotString(edge.label)}`);
    if (edge.kind === 'expr') attrs.push('style=dotted', 'arrowhead=empty');
    if (edge.kind === 'trigger') {
      attrs.push('style=bold');
      if (edge.label === 'failure') attrs.push('color="#c92a2a"');
      else if (edge.label === 'success') attrs.push('color="#2b8a3e"');
    }
    if (edge.kind === 'assoc' && edge.label !== undefined) attrs.push('style=dashed');
    lines.push(`  ${edge.from} -> ${edge.to}${attrs.length > 0 ? ` [${attrs.join(', ')}]` : ''};`);
  }
  lines.push('}');
  return lines.join('\n');
}

function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

let viz: Promise<Viz> | undefined;

/** Compiles Graphviz's WebAssembly now, so the first run page does not wait for it. */
export async function loadViz(): Promise<void> {
  viz ??= instance();
  await viz;
}

/** The graph as SVG, by Graphviz compiled to WebAssembly (@viz-js/viz, in this process). */
export async function renderSvg(graph: FlowGraph, title: string): Promise<string> {
  viz ??= instance();
  const svg = (await viz).renderString(pageDot(graph, title), { format: 'svg' });
  // the page inlines it: drop the XML prolog and doctype, the comments and the titles (Graphviz's
  // node ids, which mean nothing to a reader): a third less to send for a large flow
  const start = svg.indexOf('<svg');
  return (start >= 0 ? svg.slice(start) : svg)
    .replace(/<!--[\s\S]*?-->\n?/g, '')
    .replace(/<title>[^<]*<\/title>\n?/g, '');
}
