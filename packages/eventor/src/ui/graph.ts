import { instance, type Viz } from '@viz-js/viz';
import { dotEdges, dotHeader, dotShape, dotString } from '../inspect/dot.js';
import type { FlowGraph } from '../inspect/graph.js';
import { delayLine, type TreeGraph, treeDot } from '../inspect/tree-graph.js';

/**
 * DOT for the page: laid out left to right like `eventor graph --format dot`, but uncoloured; each
 * node carries an SVG id (`n_<node id>`) and class, so the page colours steps by status with CSS
 * and a change of status never needs a new layout.
 */
export function pageDot(graph: FlowGraph, title: string): string {
  const lines = dotHeader(title, ['  bgcolor="transparent";']);
  for (const node of graph.nodes) {
    const attrs = [
      `id="n_${node.id}"`,
      `class="${node.kind}"`,
      `label=${dotString(node.name)}`,
      ...dotShape(node),
    ];
    lines.push(`  ${node.id} [${attrs.join(', ')}];`);
  }
  return lines.concat(dotEdges(graph), '}').join('\n');
}

/**
 * DOT of a run's tree for the page: uncoloured like `pageDot`, each leaf an `n_<id>` of class
 * `step`, each container's cluster an `n_<id>` of class `container`, coloured by the page. The
 * iterations' outcomes are in the labels, so the page lays it out again when one ends.
 */
export function pageTreeDot(graph: TreeGraph, title: string): string {
  return treeDot(graph, title, {
    label: (node) => [node.name, ...delayLine(node)],
    leaf: (node) => [
      `id="n_${node.id}"`,
      'class="step leaf"',
      'shape=box',
      'style="rounded,filled"',
      'fillcolor="#ffffff"',
    ],
    cluster: (node) => [`id="n_${node.id}"`, 'class="container"', 'style="rounded"', 'labeljust=l'],
    header: (node) => [`id="h_${node.id}"`, 'class="header"', 'shape=note', 'fontsize=9'],
    extraHeader: ['  bgcolor="transparent";'],
  });
}

let viz: Promise<Viz> | undefined;

/** The tree's DOT (from `pageTreeDot`) as SVG, as `renderSvg` lays out a flow's graph. */
export async function renderDotSvg(dot: string): Promise<string> {
  viz ??= instance();
  return trimSvg((await viz).renderString(dot, { format: 'svg' }));
}

/** Compiles Graphviz's WebAssembly now, so the first run page does not wait for it. */
export async function loadViz(): Promise<void> {
  viz ??= instance();
  await viz;
}

/** The graph as SVG, by Graphviz compiled to WebAssembly (@viz-js/viz, in this process). */
export async function renderSvg(graph: FlowGraph, title: string): Promise<string> {
  viz ??= instance();
  return trimSvg((await viz).renderString(pageDot(graph, title), { format: 'svg' }));
}

function trimSvg(svg: string): string {
  // the page inlines it: drop the XML prolog and doctype, the comments and the titles (Graphviz's
  // node ids, which mean nothing to a reader): a third less to send for a large flow
  const start = svg.indexOf('<svg');
  return (start >= 0 ? svg.slice(start) : svg)
    .replace(/<!--[\s\S]*?-->\n?/g, '')
    .replace(/<title>[^<]*<\/title>\n?/g, '');
}
