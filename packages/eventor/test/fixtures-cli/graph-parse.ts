/** Reads the mermaid and DOT text `eventor graph` prints back into nodes and edges, for assertions. */

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

const DOT_NODE = /^\s*(\w+) \[(.*)\];$/;
const DOT_EDGE = /^\s*(\w+) -> (\w+)(?: \[(.*)\])?;$/;

export function parseDot(text: string): ParsedGraph {
  const lines = text.split('\n');
  if (!/^digraph "(?:[^"\\]|\\.)*" \{$/.test(lines[0] ?? '') || lines.at(-1) !== '}') {
    throw new Error(`not a DOT digraph:\n${text}`);
  }
  const nodes = new Map<string, ParsedNode>();
  const edges: ParsedEdge[] = [];
  for (const line of lines.slice(1, -1)) {
    if (/^\s*(rankdir=|node \[|edge \[)/.test(line)) continue;
    let match = DOT_EDGE.exec(line);
    if (match) {
      const attrs = parseAttrs(match[3] ?? '');
      const edge: ParsedEdge = { from: match[1] as string, to: match[2] as string, attrs };
      if (attrs.label !== undefined) edge.label = attrs.label;
      edges.push(edge);
      continue;
    }
    match = DOT_NODE.exec(line);
    if (match) {
      const attrs = parseAttrs(match[2] as string);
      nodes.set(match[1] as string, {
        id: match[1] as string,
        shape: attrs.shape ?? '',
        label: (attrs.label ?? '').split('\n'),
        attrs,
      });
      continue;
    }
    throw new Error(`unexpected DOT line: ${line}`);
  }
  return graphOf(nodes, edges);
}

/** `a=b, c="d, e"` into { a: 'b', c: 'd, e' }, with \" and \n unescaped. */
function parseAttrs(text: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]+))/g)) {
    const quoted = match[2];
    attrs[match[1] as string] =
      quoted !== undefined
        ? quoted.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
        : (match[3] as string);
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
