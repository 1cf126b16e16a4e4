/** A run's tree as a drawing: containers holding their children, requires as edges; the text formats are the presentations'. */
import type { TreeNode, TreeRequirement } from '../model/tree.js';
import { formatDelay, printable } from '../text.js';
import { dotHeader, dotString } from './dot.js';
import {
  type IterationSummary,
  iterationSummary,
  type NodeState,
  overallState,
  type RunTree,
} from './tree.js';

export interface TreeGraphNode {
  /** Unique in the graph (`t0`, `t1`, ...); a container's cluster is `cluster_<id>`. */
  id: string;
  kind: 'leaf' | 'container';
  name: string;
  path: string;
  state: NodeState;
  /** A repeating container's iterations; undefined for a leaf or a group. */
  iterations?: IterationSummary;
  delayMs?: number;
  children: TreeGraphNode[];
}

/** A requirement: `to` waits for `from` to reach `status`; `alternative` when it is one of an `or`. */
export interface TreeGraphEdge {
  from: string;
  to: string;
  status: string;
  alternative: boolean;
}

export interface TreeGraph {
  roots: TreeGraphNode[];
  /** Every node, parents before children. */
  nodes: TreeGraphNode[];
  edges: TreeGraphEdge[];
}

/** The tree's nodes with their states and iterations, and an edge per requirement. */
export function buildTreeGraph(tree: RunTree): TreeGraph {
  const nodes: TreeGraphNode[] = [];
  const ids = new Map<string, string>();
  const make = (node: TreeNode): TreeGraphNode => {
    const id = `t${nodes.length}`;
    ids.set(node.path, id);
    const out: TreeGraphNode = {
      id,
      kind: node.kind,
      name: node.name,
      path: node.path,
      state: overallState(tree.runsOfNode(node)),
      children: [],
    };
    nodes.push(out);
    const iterations = iterationSummary(tree, node);
    if (iterations) out.iterations = iterations;
    if (node.delayMs) out.delayMs = node.delayMs;
    if (node.kind === 'container') out.children = node.children.map(make);
    return out;
  };
  const roots = tree.tree.nodes.map(make);
  const edges: TreeGraphEdge[] = [];
  const seen = new Set<string>();
  const add = (to: string, requires: TreeRequirement, alternative: boolean): void => {
    if ('node' in requires) {
      const from = ids.get(requires.node);
      const key = `${from}\0${to}\0${requires.status}\0${alternative}`;
      if (from === undefined || seen.has(key)) return;
      seen.add(key);
      edges.push({ from, to, status: requires.status, alternative });
      return;
    }
    for (const item of requires.items) add(to, item, alternative || requires.op === 'or');
  };
  for (const node of allNodes(tree.tree.nodes)) {
    if (node.requires) add(ids.get(node.path) as string, node.requires, false);
  }
  return { roots, nodes, edges };
}

function allNodes(nodes: readonly TreeNode[], into: TreeNode[] = []): TreeNode[] {
  for (const node of nodes) {
    into.push(node);
    if (node.kind === 'container') allNodes(node.children, into);
  }
  return into;
}

/** An edge's label: the status waited for, marked when it is one alternative of several. */
export function edgeLabel(edge: TreeGraphEdge): string {
  return edge.alternative ? `${edge.status} (or)` : edge.status;
}

/** How a presentation dresses the tree's DOT: extra attributes of leaves, containers and header nodes. */
export interface TreeDotStyle {
  /** Lines of a leaf's label and of a container's (the name first). */
  label(node: TreeGraphNode): string[];
  leaf(node: TreeGraphNode): string[];
  cluster(node: TreeGraphNode): string[];
  /** The node inside a cluster that shows its iterations (and anchors its edges). */
  header(node: TreeGraphNode): string[];
  extraHeader?: readonly string[];
}

/**
 * The tree as DOT, left to right: each container a cluster labelled with its name, holding a node
 * with its iterations ("3 iterations", one line per few outcomes) and its children; requires as
 * edges labelled with the status they wait for, drawn from and to the cluster's edge.
 */
export function treeDot(graph: TreeGraph, title: string, style: TreeDotStyle): string {
  // xlabel: a compound edge's label would sit on the part of the spline the cluster clips away
  const lines = dotHeader(title, [
    '  compound=true;',
    '  forcelabels=true;',
    '  fontname="Helvetica";',
    '  fontsize=12;',
    ...(style.extraHeader ?? []),
  ]);
  const anchors = new Map<string, string>();
  const anchor = (node: TreeGraphNode): string | undefined => {
    const known = anchors.get(node.id);
    if (known !== undefined) return known;
    let at: string | undefined;
    if (node.kind === 'leaf' || hasHeader(node)) at = node.id;
    else for (const child of node.children) at ??= anchor(child);
    if (at !== undefined) anchors.set(node.id, at);
    return at;
  };
  const write = (node: TreeGraphNode, indent: string): void => {
    if (node.kind === 'leaf') {
      const label = style.label(node).map(printable).join('\n');
      lines.push(`${indent}${node.id} [${[`label=${dotString(label)}`, ...style.leaf(node)].join(', ')}];`);
      return;
    }
    lines.push(`${indent}subgraph cluster_${node.id} {`);
    const title = style.label(node).map(printable).join('\n');
    lines.push(`${indent}  label=${dotString(title)};`);
    for (const attr of style.cluster(node)) lines.push(`${indent}  ${attr};`);
    if (hasHeader(node)) {
      const label = headerLines(node).map(printable).join('\n');
      lines.push(
        `${indent}  ${node.id} [${[`label=${dotString(label)}`, ...style.header(node)].join(', ')}];`,
      );
    }
    for (const child of node.children) write(child, `${indent}  `);
    lines.push(`${indent}}`);
  };
  for (const root of graph.roots) write(root, '  ');
  const byId = new Map(graph.nodes.map((node) => [node.id, node]));
  for (const edge of graph.edges) {
    const from = byId.get(edge.from) as TreeGraphNode;
    const to = byId.get(edge.to) as TreeGraphNode;
    const tail = anchor(from);
    const head = anchor(to);
    if (tail === undefined || head === undefined) continue;
    const attrs = [`xlabel=${dotString(edgeLabel(edge))}`];
    if (from.kind === 'container') attrs.push(`ltail=cluster_${from.id}`);
    if (to.kind === 'container') attrs.push(`lhead=cluster_${to.id}`);
    if (edge.status === 'failure') attrs.push('color="#c92a2a"', 'fontcolor="#c92a2a"');
    if (edge.alternative) attrs.push('style=dashed');
    lines.push(`  ${tail} -> ${head} [${attrs.join(', ')}];`);
  }
  lines.push('}');
  return lines.join('\n');
}

/** A container shows a header node when it repeats, or has nothing else to anchor its edges. */
function hasHeader(node: TreeGraphNode): boolean {
  return node.kind === 'container' && (node.iterations !== undefined || node.children.length === 0);
}

/** "after 5s" for a node with a delay (after its requires hold). */
export function delayLine(node: TreeGraphNode): string[] {
  return node.delayMs ? [`after ${formatDelay(node.delayMs)}`] : [];
}

/** "3 iterations" and the outcomes, three to a line. */
export function headerLines(node: TreeGraphNode): string[] {
  const lines: string[] = [];
  if (node.iterations) {
    lines.push(node.iterations.head);
    const parts = node.iterations.parts;
    for (let i = 0; i < parts.length; i += 3) lines.push(parts.slice(i, i + 3).join(' · '));
  } else lines.push('no steps');
  return lines;
}
