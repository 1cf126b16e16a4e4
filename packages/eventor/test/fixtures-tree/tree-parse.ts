/** Reads the tree drawings `eventor graph` prints (mermaid, DOT) back into containers, steps and requires. */
import { instance, type Viz } from '@viz-js/viz';

export interface ParsedTree {
  /** Steps and containers by name: their label's lines, the container they are in, their class. */
  nodes: Map<string, { lines: string[]; parent?: string; kind: 'leaf' | 'container'; className?: string }>;
  /** Requires, by name: `to` waits for `from`. */
  edges: Array<{ from: string; to: string; label: string; alternative: boolean }>;
}

const SUBGRAPH = /^\s*subgraph (t\d+)\["(.*)"\]$/;
const NODE = /^\s*(t\d+)\["(.*)"\]$/;
const EDGE = /^\s*(t\d+) (-->|-\.->)\|"(.*?)"\| (t\d+)$/;
const CLASS = /^\s*class ([\w,]+) ([\w-]+)$/;

/** A tree as `eventor graph` prints it in mermaid: subgraphs for containers. */
export function parseTreeMermaid(text: string): ParsedTree {
  const lines = text.split('\n');
  if (lines[0] !== 'flowchart LR') throw new Error(`not a mermaid flowchart: ${lines[0]}`);
  const byId = new Map<
    string,
    { name: string; lines: string[]; parent?: string; kind: 'leaf' | 'container'; className?: string }
  >();
  const open: string[] = [];
  const raw: Array<{ from: string; to: string; label: string; alternative: boolean }> = [];
  for (const line of lines.slice(1)) {
    let match = SUBGRAPH.exec(line);
    if (match) {
      const label = (match[2] as string).split('<br/>').map(unescapeMermaid);
      byId.set(match[1] as string, {
        name: label[0] as string,
        lines: label,
        parent: open.at(-1),
        kind: 'container',
      });
      open.push(match[1] as string);
      continue;
    }
    if (line.trim() === 'end') {
      if (open.pop() === undefined) throw new Error('an end without a subgraph');
      continue;
    }
    match = NODE.exec(line);
    if (match) {
      const label = (match[2] as string).split('<br/>').map(unescapeMermaid);
      byId.set(match[1] as string, {
        name: label[0] as string,
        lines: label,
        parent: open.at(-1),
        kind: 'leaf',
      });
      continue;
    }
    match = EDGE.exec(line);
    if (match) {
      raw.push({
        from: match[1] as string,
        to: match[4] as string,
        label: unescapeMermaid(match[3] as string),
        alternative: match[2] === '-.->',
      });
      continue;
    }
    match = CLASS.exec(line);
    if (match) {
      for (const id of (match[1] as string).split(',')) {
        const node = byId.get(id);
        if (!node) throw new Error(`class for unknown node ${id}`);
        node.className = match[2] as string;
      }
      continue;
    }
    if (/^\s*classDef [\w-]+ /.test(line)) continue;
    throw new Error(`unexpected mermaid line: ${line}`);
  }
  if (open.length > 0) throw new Error('a subgraph is not closed');
  return named(byId, raw);
}

function named(
  byId: Map<
    string,
    { name: string; lines: string[]; parent?: string; kind: 'leaf' | 'container'; className?: string }
  >,
  raw: Array<{ from: string; to: string; label: string; alternative: boolean }>,
): ParsedTree {
  const name = (id: string | undefined) => (id === undefined ? undefined : byId.get(id)?.name);
  const nodes: ParsedTree['nodes'] = new Map();
  for (const node of byId.values()) {
    const out: { lines: string[]; parent?: string; kind: 'leaf' | 'container'; className?: string } = {
      lines: node.lines,
      kind: node.kind,
    };
    const parent = name(node.parent);
    if (parent !== undefined) out.parent = parent;
    if (node.className !== undefined) out.className = node.className;
    if (nodes.has(node.name)) throw new Error(`two nodes named ${node.name}`);
    nodes.set(node.name, out);
  }
  const edges = raw.map((edge) => {
    const from = name(edge.from);
    const to = name(edge.to);
    if (from === undefined || to === undefined)
      throw new Error(`edge to an undeclared node: ${edge.from} -> ${edge.to}`);
    return { from, to, label: edge.label, alternative: edge.alternative };
  });
  return { nodes, edges };
}

function unescapeMermaid(text: string): string {
  return text
    .replace(/#quot;/g, '"')
    .replace(/#lt;/g, '<')
    .replace(/#gt;/g, '>')
    .replace(/#96;/g, '`')
    .replace(/#35;/g, '#');
}

/**
 * A tree as `eventor graph --format dot` prints it, read by Graphviz itself (json0): clusters for
 * containers, each with a header node (its iterations) that edges of the container start or end at.
 */
export async function parseTreeDot(text: string): Promise<ParsedTree & { headers: Map<string, string[]> }> {
  viz ??= instance();
  const result = (await viz).render(text, { format: 'json0' });
  if (result.status !== 'success') {
    throw new Error(`Graphviz refused the DOT: ${result.errors.map((e) => e.message).join('; ')}\n${text}`);
  }
  const json = JSON.parse(result.output) as {
    objects: Array<{ _gvid: number; name: string; label?: string; nodes?: number[]; subgraphs?: number[] }>;
    edges?: Array<{
      tail: number;
      head: number;
      xlabel?: string;
      ltail?: string;
      lhead?: string;
      style?: string;
    }>;
  };
  const lines = (label: string | undefined) =>
    (label ?? '').replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)).split('\n');
  const objects = new Map(json.objects.map((o) => [o._gvid, o]));
  const byId = new Map<
    string,
    { name: string; lines: string[]; parent?: string; kind: 'leaf' | 'container' }
  >();
  const headers = new Map<string, string[]>();
  // a cluster lists every node inside it, nested ones too: the innermost is the smallest
  const parentOf = new Map<number, string>();
  const clusters = json.objects
    .filter((o) => o.name.startsWith('cluster_'))
    .sort((a, b) => (b.nodes?.length ?? 0) - (a.nodes?.length ?? 0));
  for (const cluster of clusters) {
    for (const member of [...(cluster.nodes ?? []), ...(cluster.subgraphs ?? [])])
      parentOf.set(member, cluster.name);
  }
  for (const object of json.objects) {
    const label = lines(object.label);
    const parent = parentOf.get(object._gvid);
    if (object.name.startsWith('cluster_')) {
      byId.set(object.name, {
        name: label[0] as string,
        lines: label,
        kind: 'container',
        ...(parent ? { parent } : {}),
      });
    } else if (parent !== undefined && `cluster_${object.name}` === parent) {
      headers.set(object.name, label);
    } else {
      byId.set(object.name, {
        name: label[0] as string,
        lines: label,
        kind: 'leaf',
        ...(parent ? { parent } : {}),
      });
    }
  }
  const end = (gvid: number, cluster: string | undefined) => cluster ?? (objects.get(gvid)?.name as string);
  const raw = (json.edges ?? []).map((edge) => ({
    from: end(edge.tail, edge.ltail),
    to: end(edge.head, edge.lhead),
    label: edge.xlabel ?? '',
    alternative: edge.style === 'dashed',
  }));
  const tree = named(byId, raw);
  const headerOf = new Map<string, string[]>();
  for (const [id, label] of headers) headerOf.set(byId.get(`cluster_${id}`)?.name as string, label);
  return { ...tree, headers: headerOf };
}

let viz: Promise<Viz> | undefined;
