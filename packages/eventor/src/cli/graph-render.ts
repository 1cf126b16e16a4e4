import { dotEdges, dotHeader, dotShape, dotString } from '../inspect/dot.js';
import type { FlowGraph, StepState } from '../inspect/graph.js';
import { type NodeState, STATE_WORDS } from '../inspect/tree.js';
import {
  delayLine,
  edgeLabel,
  headerLines,
  type TreeGraph,
  type TreeGraphNode,
  treeDot,
} from '../inspect/tree-graph.js';
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

/** Colours of a tree's nodes: a step's, and grey for a node that will not run. */
export const TREE_STYLE: Partial<Record<NodeState, { fill: string; stroke: string }>> = {
  ...STATE_STYLE,
  dead: { fill: '#f1f3f5', stroke: '#adb5bd' },
};

/** A node's label lines in the CLI's drawings: name, delay, then its state when it has one. */
function treeLabel(node: TreeGraphNode): string[] {
  const lines = [node.name, ...delayLine(node)];
  if (node.state !== 'not-started') lines.push(STATE_WORDS[node.state]);
  return lines;
}

/** Paler fills for containers, so the steps inside them stand out. */
const CLUSTER_FILL: Partial<Record<NodeState, string>> = {
  success: '#ebfbee',
  skipped: '#f8f9fa',
  failure: '#fff5f5',
  active: '#fff9db',
  waiting: '#e7f5ff',
  dead: '#f8f9fa',
};

/** A run's tree as DOT, coloured by state: containers are clusters, requires are edges. */
export function renderTreeDot(graph: TreeGraph, title = 'flow'): string {
  const colours = (node: TreeGraphNode, fill: string): string[] => {
    const style = TREE_STYLE[node.state];
    if (!style) return [`${fill}="#ffffff"`];
    const colour = node.kind === 'container' ? (CLUSTER_FILL[node.state] ?? style.fill) : style.fill;
    return [`${fill}="${colour}"`, `color="${style.stroke}"`];
  };
  return treeDot(graph, title, {
    label: treeLabel,
    leaf: (node) => ['shape=box', 'style="rounded,filled"', ...colours(node, 'fillcolor')],
    cluster: (node) => [
      'style="rounded,filled"',
      'labeljust=l',
      ...colours(node, 'fillcolor'),
      ...(node.state === 'not-started' ? [] : [`tooltip=${dotString(STATE_WORDS[node.state])}`]),
    ],
    header: () => ['shape=note', 'style=filled', 'fillcolor="#ffffff"', 'fontsize=9'],
  });
}

/** A run's tree as a mermaid flowchart: containers are subgraphs; names quoted and escaped. */
export function renderTreeMermaid(graph: TreeGraph): string {
  const lines = ['flowchart LR'];
  const write = (node: TreeGraphNode, indent: string): void => {
    if (node.kind === 'leaf') {
      lines.push(`${indent}${node.id}["${treeLabel(node).map(mermaidText).join('<br/>')}"]`);
      return;
    }
    const label = [...treeLabel(node), ...(node.iterations ? headerLines(node) : [])];
    lines.push(`${indent}subgraph ${node.id}["${label.map(mermaidText).join('<br/>')}"]`);
    for (const child of node.children) write(child, `${indent}  `);
    lines.push(`${indent}end`);
  };
  for (const root of graph.roots) write(root, '  ');
  for (const edge of graph.edges) {
    const arrow = edge.alternative ? '-.->' : '-->';
    lines.push(`  ${edge.from} ${arrow}|"${mermaidText(edgeLabel(edge))}"| ${edge.to}`);
  }
  const byState = new Map<NodeState, string[]>();
  for (const node of graph.nodes) {
    if (!TREE_STYLE[node.state]) continue;
    byState.set(node.state, [...(byState.get(node.state) ?? []), node.id]);
  }
  for (const state of byState.keys()) {
    const style = TREE_STYLE[state] as { fill: string; stroke: string };
    lines.push(`  classDef ${state} fill:${style.fill},stroke:${style.stroke},color:#212529`);
  }
  for (const [state, ids] of byState) lines.push(`  class ${ids.join(',')} ${state}`);
  return lines.join('\n');
}
