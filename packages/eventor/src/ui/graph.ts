import { instance, type Viz } from '@viz-js/viz';
import { dotEdges, dotHeader, dotShape, dotString } from '../inspect/dot.js';
import type { FlowGraph } from '../inspect/graph.js';

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
