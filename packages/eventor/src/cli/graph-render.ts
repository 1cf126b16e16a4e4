import { dotEdges, dotHeader, dotShape, dotString } from '../inspect/dot.js';
import type { FlowGraph, StepState } from '../inspect/graph.js';
import { printable } from '../text.js';

export const STATE_STYLE: Record<StepState, { fill: string; stroke: string }> = {
  success: { fill: '#d3f9d8', stroke: '#2b8a3e' },
  skipped: { fill: '#e9ecef', stroke: '#495057' },
  failure: { fill: '#ffe3e3', stroke: '#c92a2a' },
  active: { fill: '#fff3bf', stroke: '#e67700' },
  waiting: { fill: '#d0ebff', stroke: '#1971c2' },
};

/** Mermaid flowchart text; names are quoted and escaped, so any event or step name is safe. */
export function renderMermaid(graph: FlowGraph): string {
  const lines = ['flowchart LR'];
  for (const node of graph.nodes) {
    const label = mermaidText(node.name) + (node.state ? `<br/>${node.state}` : '');
    if (node.kind === 'event') lines.push(`  ${node.id}(["${label}"])`);
    else if (node.kind === 'step') lines.push(`  ${node.id}["${label}"]`);
    else lines.push(`  ${node.id}(("${label}"))`);
  }
  for (const edge of graph.edges) {
    const arrow = edge.kind === 'expr' ? '-.->' : edge.kind === 'trigger' ? '==>' : '-->';
    const label = edge.label === undefined ? '' : `|"${mermaidText(edge.label)}"|`;
    lines.push(`  ${edge.from} ${arrow}${label} ${edge.to}`);
  }
  const used = new Set(graph.nodes.map((node) => node.state).filter((state) => state !== undefined));
  for (const state of used) {
    const style = STATE_STYLE[state];
    lines.push(`  classDef ${state} fill:${style.fill},stroke:${style.stroke},color:#212529`);
  }
  for (const state of used) {
    const ids = graph.nodes.filter((node) => node.state === state).map((node) => node.id);
    lines.push(`  class ${ids.join(',')} ${state}`);
  }
  return lines.join('\n');
}

/** Graphviz DOT text; `renderSvg` lays it out, or `dot -Tsvg` where Graphviz is installed. */
export function renderDot(graph: FlowGraph, title = 'flow'): string {
  const lines = dotHeader(title);
  for (const node of graph.nodes) {
    // the name escaped first, so the only raw newline left is the one before the state
    const label = printable(node.name) + (node.state ? `\n${node.state}` : '');
    const attrs = [`label=${dotString(label)}`, ...dotShape(node)];
    if (node.state) {
      const style = STATE_STYLE[node.state];
      attrs.splice(
        attrs.indexOf('fillcolor="#ffffff"'),
        1,
        `fillcolor="${style.fill}"`,
        `color="${style.stroke}"`,
      );
    }
    lines.push(`  ${node.id} [${attrs.join(', ')}];`);
  }
  return lines.concat(dotEdges(graph), '}').join('\n');
}

/**
 * A quoted mermaid label: control characters escaped (so no newline ends the statement), then
 * entity codes for what would end or confuse the quotes; a backtick would start a markdown string.
 */
function mermaidText(text: string): string {
  return printable(text)
    .replace(/#/g, '#35;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/`/g, '#96;');
}
