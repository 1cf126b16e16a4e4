import type { NodeState } from '../inspect/tree.js';
import { printable } from '../text.js';
import { TREE_STYLE } from './graph-render.js';

/**
 * Lays DOT out as SVG with Graphviz compiled to WebAssembly (@viz-js/viz), so no system program is
 * needed. Imported on first use: it is a megabyte of wasm that only `graph --format svg|html` wants.
 */
export async function renderSvg(dot: string): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  const result = viz.render(dot, { format: 'svg' });
  if (result.status !== 'success') {
    const messages = result.errors.map((error) => error.message.trim()).join('; ');
    throw new Error(`Graphviz could not lay out the graph: ${messages}`);
  }
  return result.output;
}

/** A self-contained HTML page: a heading, the SVG inline, and a legend of the colours used. */
export function htmlPage(svg: string, title: string, states: Iterable<NodeState>): string {
  // the XML prolog and doctype are for a standalone .svg file; inline SVG in HTML takes neither
  const inline = svg.replace(/^<\?xml[^>]*>\s*/, '').replace(/^<!DOCTYPE[^>]*>\s*/, '');
  const legend = [...new Set(states)]
    .flatMap((state) => {
      const style = TREE_STYLE[state];
      if (!style) return [];
      const word = state === 'dead' ? 'will not run' : state;
      return [`<li><span style="background:${style.fill};border-color:${style.stroke}"></span>${word}</li>`];
    })
    .join('');
  const heading = escapeHtml(printable(title));
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${heading}</title>`,
    '<style>',
    'body{font-family:Helvetica,Arial,sans-serif;margin:1.5rem;color:#212529}',
    'h1{font-size:1.2rem;font-weight:600}',
    'svg{max-width:100%;height:auto}',
    'ul{list-style:none;padding:0;display:flex;gap:1rem;font-size:.85rem}',
    'li span{display:inline-block;width:.9rem;height:.9rem;border:1px solid;margin-right:.3rem;vertical-align:middle}',
    '</style>',
    '</head>',
    '<body>',
    `<h1>${heading}</h1>`,
    ...(legend ? [`<ul>${legend}</ul>`] : []),
    inline.trimEnd(),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
