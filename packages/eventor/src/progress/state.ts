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

/** A row of the tree: a step, or a container whose bookkeeping steps (`name#...`) are hidden. */
export interface ProgressNode {
  /** The step name, or the container's name. */
  name: string;
  /** The name shown: the part after the parent's name and '_' for nested nodes. */
  label: string;
  depth: number;
  /** The steps whose counts this row adds up: itself, or every leaf step below a container. */
  counts: StepCounts;
  children: ProgressNode[];
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

  constructor(now: number) {
    this.startedAt = now;
  }

  start(info: { runId: string; recovery: number; steps: readonly string[] }, now: number): void {
    this.runId = info.runId;
    this.recovery = info.recovery;
    this.startedAt = now;
    for (const step of info.steps) if (!this.counts.has(step)) this.counts.set(step, emptyCounts());
    this.roots = buildTree([...this.counts.keys()], this.counts);
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
      if (isBookkeeping(step)) continue;
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
      this.roots = buildTree([...this.counts.keys()], this.counts);
    }
    return counts;
  }
}

/** A container's own steps in sequent (`s1#begin`): shown through the container's row, never counted. */
export function isBookkeeping(step: string): boolean {
  return step.indexOf('#') > 0;
}

/**
 * Nests `a_b` under `a` when `a` is itself a row, which is how sequent names steps inside containers
 * (`s1_s11_s111`); a container's bookkeeping steps (`s1#begin`, `s1#next`, ...) make its row and are
 * not shown. Flat eventor names stay flat unless a step is named after another's prefix.
 */
export function buildTree(steps: readonly string[], counts: ReadonlyMap<string, StepCounts>): ProgressNode[] {
  const nodes = new Map<string, ProgressNode>();
  for (const step of steps) {
    const hash = step.indexOf('#');
    const name = hash > 0 ? step.slice(0, hash) : step;
    if (!nodes.has(name)) {
      nodes.set(name, { name, label: name, depth: 0, counts: emptyCounts(), children: [] });
    }
    if (hash < 0) (nodes.get(name) as ProgressNode).counts = counts.get(step) ?? emptyCounts();
  }
  const roots: ProgressNode[] = [];
  for (const node of nodes.values()) {
    const parent = parentOf(node.name, nodes);
    if (parent) {
      node.label = node.name.slice(parent.name.length + 1);
      parent.children.push(node);
    } else roots.push(node);
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

function parentOf(name: string, nodes: ReadonlyMap<string, ProgressNode>): ProgressNode | undefined {
  for (let i = name.lastIndexOf('_'); i > 0; i = name.lastIndexOf('_', i - 1)) {
    const parent = nodes.get(name.slice(0, i));
    if (parent) return parent;
  }
  return undefined;
}
