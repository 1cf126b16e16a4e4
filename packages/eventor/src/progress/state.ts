/** Counts per step as a run goes, arranged as a tree for display. */

export interface StepCounts {
  /** Tasks that succeeded (skipped ones included). */
  done: number;
  /** Of `done`, the ones recovery skipped. */
  skipped: number;
  failed: number;
  /** Sequences with an attempt started and not yet ended, with when they first started. */
  running: Map<string, number>;
  firstStart: number | undefined;
  lastEnd: number | undefined;
}

/** A row of the tree: a step, or a group (a container) adding up the rows under it. */
export interface ProgressNode {
  /** The step name, or the container's name. */
  name: string;
  /** The name shown: the group's label, or the step name. */
  label: string;
  depth: number;
  /** The steps whose counts this row adds up: itself, or every leaf step below a container. */
  counts: StepCounts;
  children: ProgressNode[];
}

/**
 * A row of the progress view that the caller defines, for a flow compiled from a tree (sequent
 * passes its containers and steps). A step no group names or hides is a top-level row of its own.
 */
export interface ProgressGroup {
  /** The row's name: a step of the flow, or a group's own name (a container's). */
  name: string;
  /** The row it shows under; none for a top-level row. */
  parent?: string;
  /** What the row shows; default `name`. */
  label?: string;
  /** Steps this row stands for that are neither shown nor counted (a container's bookkeeping steps). */
  hides?: readonly string[];
}

export interface Totals {
  done: number;
  skipped: number;
  failed: number;
  running: number;
}

function emptyCounts(): StepCounts {
  return { done: 0, skipped: 0, failed: 0, running: new Map(), firstStart: undefined, lastEnd: undefined };
}

/** What the observer has seen of a run. */
export class ProgressState {
  runId = '';
  recovery = 0;
  startedAt: number;
  endedAt: number | undefined;
  outcome: { ok: boolean; status: string } | undefined;
  private readonly counts = new Map<string, StepCounts>();
  private roots: ProgressNode[] = [];
  private readonly groups: Groups;

  constructor(now: number, groups: readonly ProgressGroup[] = []) {
    this.startedAt = now;
    this.groups = indexGroups(groups);
  }

  start(info: { runId: string; recovery: number; steps: readonly string[] }, now: number): void {
    this.runId = info.runId;
    this.recovery = info.recovery;
    this.startedAt = now;
    for (const step of info.steps) if (!this.counts.has(step)) this.counts.set(step, emptyCounts());
    this.roots = arrange([...this.counts.keys()], this.counts, this.groups);
  }

  taskStarted(step: string, sequence: string, now: number): void {
    const counts = this.stepCounts(step);
    if (!counts.running.has(sequence)) counts.running.set(sequence, now);
    counts.firstStart ??= now;
  }

  taskEnded(
    step: string,
    sequence: string,
    status: 'success' | 'failure',
    skipped: boolean,
    now: number,
  ): void {
    const counts = this.stepCounts(step);
    counts.running.delete(sequence);
    if (status === 'success') counts.done += 1;
    else counts.failed += 1;
    if (skipped) counts.skipped += 1;
    counts.lastEnd = now;
  }

  /** The run ended: tasks still marked running were cut short by stop(), and recorded failed. */
  end(outcome: { ok: boolean; status: string }, now: number): void {
    this.outcome = outcome;
    this.endedAt = now;
    for (const counts of this.counts.values()) {
      counts.failed += counts.running.size;
      counts.running.clear();
    }
  }

  totals(): Totals {
    const totals: Totals = { done: 0, skipped: 0, failed: 0, running: 0 };
    for (const [step, counts] of this.counts) {
      if (this.groups.hiddenIn.has(step)) continue;
      totals.done += counts.done;
      totals.skipped += counts.skipped;
      totals.failed += counts.failed;
      totals.running += counts.running.size;
    }
    return totals;
  }

  /** The rows in display order (depth first). */
  rows(): ProgressNode[] {
    const rows: ProgressNode[] = [];
    const walk = (nodes: ProgressNode[]) => {
      for (const node of nodes) {
        rows.push(node);
        walk(node.children);
      }
    };
    walk(this.roots);
    return rows;
  }

  /** Sums of a row: a step's own counts, or a container's leaf steps'. */
  sum(node: ProgressNode): Totals & { since: number | undefined } {
    const out = { done: 0, skipped: 0, failed: 0, running: 0, since: undefined as number | undefined };
    const add = (counts: StepCounts) => {
      out.done += counts.done;
      out.skipped += counts.skipped;
      out.failed += counts.failed;
      out.running += counts.running.size;
      for (const started of counts.running.values()) out.since = Math.min(out.since ?? started, started);
    };
    const walk = (n: ProgressNode) => {
      add(n.counts);
      for (const child of n.children) walk(child);
    };
    walk(node);
    return out;
  }

  private stepCounts(step: string): StepCounts {
    let counts = this.counts.get(step);
    if (!counts) {
      // a step the run did not announce (runStarted not seen): show it at the top level
      counts = emptyCounts();
      this.counts.set(step, counts);
      this.roots = arrange([...this.counts.keys()], this.counts, this.groups);
    }
    return counts;
  }
}

interface Groups {
  byName: ReadonlyMap<string, ProgressGroup>;
  /** Each hidden step, with the row it belongs to. */
  hiddenIn: ReadonlyMap<string, string>;
}

function indexGroups(groups: readonly ProgressGroup[]): Groups {
  const byName = new Map<string, ProgressGroup>();
  const hiddenIn = new Map<string, string>();
  for (const group of groups) {
    byName.set(group.name, group);
    for (const step of group.hides ?? []) hiddenIn.set(step, group.name);
  }
  return { byName, hiddenIn };
}

/**
 * The rows for `steps`, in the order their first step comes: a hidden step makes its group's row
 * and adds nothing to it; a row nests under its parent, or the nearest ancestor that is a row.
 */
export function buildTree(
  steps: readonly string[],
  counts: ReadonlyMap<string, StepCounts>,
  groups: readonly ProgressGroup[] = [],
): ProgressNode[] {
  return arrange(steps, counts, indexGroups(groups));
}

function arrange(
  steps: readonly string[],
  counts: ReadonlyMap<string, StepCounts>,
  groups: Groups,
): ProgressNode[] {
  const nodes = new Map<string, ProgressNode>();
  for (const step of steps) {
    const hidden = groups.hiddenIn.get(step);
    const name = hidden ?? step;
    let node = nodes.get(name);
    if (!node) {
      const label = groups.byName.get(name)?.label ?? name;
      node = { name, label, depth: 0, counts: emptyCounts(), children: [] };
      nodes.set(name, node);
    }
    if (hidden === undefined) node.counts = counts.get(step) ?? emptyCounts();
  }
  const roots: ProgressNode[] = [];
  for (const node of nodes.values()) {
    const parent = parentOf(node.name, nodes, groups.byName);
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const setDepth = (list: ProgressNode[], depth: number) => {
    for (const node of list) {
      node.depth = depth;
      setDepth(node.children, depth + 1);
    }
  };
  setDepth(roots, 0);
  return roots;
}

function parentOf(
  name: string,
  nodes: ReadonlyMap<string, ProgressNode>,
  groups: ReadonlyMap<string, ProgressGroup>,
): ProgressNode | undefined {
  const seen = new Set<string>([name]);
  for (let up = groups.get(name)?.parent; up !== undefined && !seen.has(up); up = groups.get(up)?.parent) {
    const parent = nodes.get(up);
    if (parent) return parent;
    seen.add(up);
  }
  return undefined;
}
