/** Reads the mermaid and DOT text `eventor graph` prints back into nodes and edges, for assertions. */

import { instance, type Viz } from '@viz-js/viz';

export interface ParsedNode {
  id: string;
  shape: string;
  /** The label's lines: the name, then the status when the graph is coloured. */
  label: string[];
  className?: string;
  attrs?: Record<string, string>;
}

export interface ParsedEdge {
  from: string;
  to: string;
  arrow?: string;
  label?: string;
  attrs?: Record<string, string>;
}

export interface ParsedGraph {
  nodes: Map<string, ParsedNode>;
  edges: ParsedEdge[];
  /** The node whose label's first line is `name` (and, if given, of that shape). */
  byName(name: string, shape?: string): ParsedNode;
  /** Edges between the nodes named `from` and `to` (names, not ids). */
  between(from: string, to: string): ParsedEdge[];
}

const MERMAID_NODE = /^\s*(\w+)(\(\["|\["|\(\(")(.*?)("\]\)|"\]|"\)\))$/;
const MERMAID_EDGE = /^\s*(\w+) (-->|-\.->|==>)(?:\|"(.*?)"\|)? (\w+)$/;
const MERMAID_CLASS = /^\s*class ([\w,]+) (\w+)$/;

export function parseMermaid(text: string): ParsedGraph {
  const lines = text.split('\n');
  if (lines[0] !== 'flowchart LR') throw new Error(`not a mermaid flowchart: ${lines[0]}`);
  const nodes = new Map<string, ParsedNode>();
  const edges: ParsedEdge[] = [];
  for (const line of lines.slice(1)) {
    let match = MERMAID_NODE.exec(line);
    if (match) {
      const shape = { '(["': 'stadium', '["': 'box', '(("': 'circle' }[match[2] as string] as string;
      nodes.set(match[1] as string, {
        id: match[1] as string,
        shape,
        label: (match[3] as string).split('<br/>').map(unescapeMermaid),
      });
      continue;
    }
    match = MERMAID_EDGE.exec(line);
    if (match) {
      const edge: ParsedEdge = {
        from: match[1] as string,
        arrow: match[2] as string,
        to: match[4] as string,
      };
      if (match[3] !== undefined) edge.label = unescapeMermaid(match[3]);
      edges.push(edge);
      continue;
    }
    match = MERMAID_CLASS.exec(line);
    if (match) {
      for (const id of (match[1] as string).split(',')) {
        const node = nodes.get(id);
        if (!node) throw new Error(`class for unknown node ${id}`);
        node.className = match[2] as string;
      }
      continue;
    }
    if (/^\s*classDef \w+ /.test(line)) continue;
    throw new Error(`unexpected mermaid line: ${line}`);
  }
  return graphOf(nodes, edges);
}

function unescapeMermaid(text: string): string {
  return text
    .replace(/#quot;/g, '"')
    .replace(/#lt;/g, '<')
    .replace(/#gt;/g, '>')
    .replace(/#35;/g, '#');
}

/**
 * Parses DOT with Graphviz itself (compiled to WebAssembly: no `dot` program needed), so text that
 * Graphviz would refuse fails here; the nodes and edges come from its json0 output.
 */
export async function parseDot(text: string): Promise<ParsedGraph> {
  const viz = await vizInstance();
  const result = viz.render(text, { format: 'json0' });
  if (result.status !== 'success') {
    throw new Error(`Graphviz refused the DOT: ${result.errors.map((e) => e.message).join('; ')}\n${text}`);
  }
  const json = JSON.parse(result.output) as {
    objects?: Array<Record<string, string | number>>;
    edges?: Array<Record<string, string | number>>;
  };
  const nodes = new Map<string, ParsedNode>();
  const ids: string[] = [];
  for (const object of json.objects ?? []) {
    const attrs = stringAttrs(object);
    const id = attrs.name as string;
    ids[object._gvid as number] = id;
    nodes.set(id, { id, shape: attrs.shape ?? '', label: (attrs.label ?? '').split('\n'), attrs });
  }
  const edges: ParsedEdge[] = (json.edges ?? []).map((object) => {
    const attrs = stringAttrs(object);
    const edge: ParsedEdge = {
      from: ids[object.tail as number] as string,
      to: ids[object.head as number] as string,
      attrs,
    };
    // json0 gives every edge the attributes any edge declares: an edge without a label gets ""
    if (attrs.label) edge.label = attrs.label;
    return edge;
  });
  return graphOf(nodes, edges);
}

/** Lays DOT out as SVG with the same wasm Graphviz; fails with its errors. */
export async function renderSvg(text: string): Promise<string> {
  return (await vizInstance()).renderString(text, { format: 'svg' });
}

let viz: Promise<Viz> | undefined;
function vizInstance(): Promise<Viz> {
  viz ??= instance();
  return viz;
}

/** Graphviz keeps a label's escapes (`\\`, `\n`) for layout: undo them as it draws them. */
function stringAttrs(object: Record<string, string | number>): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(object)) {
    if (key.startsWith('_') || typeof value !== 'string') continue;
    attrs[key] = key === 'label' ? value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)) : value;
  }
  return attrs;
}

function graphOf(nodes: Map<string, ParsedNode>, edges: ParsedEdge[]): ParsedGraph {
  for (const edge of edges) {
    if (!nodes.has(edge.from) || !nodes.has(edge.to))
      throw new Error(`edge to an undeclared node: ${edge.from} -> ${edge.to}`);
  }
  const byName = (name: string, shape?: string) => {
    const found = [...nodes.values()].filter(
      (n) => n.label[0] === name && (shape === undefined || n.shape === shape),
    );
    if (found.length !== 1)
      throw new Error(`expected one node named ${name}${shape ? ` (${shape})` : ''}, found ${found.length}`);
    return found[0] as ParsedNode;
  };
  return {
    nodes,
    edges,
    byName,
    between: (from, to) => {
      const a = byName(from).id;
      const b = byName(to).id;
      return edges.filter((edge) => edge.from === a && edge.to === b);
    },
  };
}
