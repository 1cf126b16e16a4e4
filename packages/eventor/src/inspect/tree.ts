/**
 * A run as the tree its flow was written as (`Eventor.describeTree`, stored in the run's shape):
 * each node in each sequence it runs in, with its state, and each container's iterations with their
 * outcome. Read from the tasks and triggers of the run's current recovery through the compiled names
 * the description lists; never from the names themselves.
 */

import type { StepStatus } from '../model/status.js';
import { checkTree, type TreeDescription, type TreeNode, type TreeRequirement } from '../model/tree.js';
import type { RunRow, TaskRow } from '../store/types.js';
import type { StepState } from './graph.js';
import { type Reader, runState } from './reader.js';

/** What a node came to in one sequence: a task's state, `dead` (its requires can no longer hold) or not started. */
export type NodeState = StepState | 'dead' | 'not-started';

/** What an iteration came to. */
export type IterationState = 'success' | 'failure' | 'active' | 'not-started';

/** A node in one sequence. */
export interface NodeRun {
  node: TreeNode;
  sequence: string;
  /** The iteration it runs in; undefined at the top level. */
  parent: IterationRun | undefined;
  state: NodeState;
  /** A leaf's task, or a container's beginning task, in this recovery. */
  task?: TaskRow;
  /** A container's iterations (only the first while the container has not started). */
  iterations: IterationRun[];
}

export interface IterationRun {
  container: NodeRun;
  /** From 1. */
  k: number;
  sequence: string;
  state: IterationState;
  children: NodeRun[];
}

/** Whether a requirement holds (true), can no longer hold (false), or may still (undefined). */
export type Truth = boolean | undefined;

/** The stored tree of a run, or why it cannot be read; `none` for a run without one (plain eventor). */
export type StoredTree = { tree: TreeDescription } | { error: string } | { none: true };

/** The tree a run's shape holds, checked (a store is not trusted). */
export function runTree(run: RunRow): StoredTree {
  if (run.shape === null) return { none: true };
  let raw: unknown;
  try {
    raw = (JSON.parse(run.shape) as { tree?: unknown } | null)?.tree;
  } catch {
    return { none: true };
  }
  if (raw === undefined) return { none: true };
  try {
    return { tree: checkTree(raw) };
  } catch (error) {
    return { error: `Run "${run.id}" has a damaged tree description: ${(error as Error).message}` };
  }
}

/** The tree of one run: its nodes per sequence, as of the run's current recovery. */
export class RunTree {
  readonly top: NodeRun[];
  /** Every node run, parents before children. */
  readonly all: NodeRun[] = [];
  readonly live: boolean;
  private readonly tasks = new Map<string, TaskRow>();
  private readonly fired = new Set<string>();
  private readonly parentOf = new Map<string, TreeNode | undefined>();
  private readonly byPath = new Map<string, TreeNode>();
  private readonly leafByStep = new Map<string, TreeNode>();
  private readonly runsOf = new Map<string, NodeRun[]>();
  private readonly evaluating = new Set<NodeRun>();

  constructor(
    readonly tree: TreeDescription,
    readonly run: RunRow,
    tasks: readonly TaskRow[],
    fired: Iterable<{ event: string; sequence: string }>,
  ) {
    this.live = runState(run) === 'running';
    for (const task of tasks) {
      if (task.recovery === run.recovery) this.tasks.set(key(task.step, task.sequence), task);
    }
    for (const trigger of fired) this.fired.add(key(trigger.event, trigger.sequence));
    const index = (nodes: readonly TreeNode[], parent: TreeNode | undefined): void => {
      for (const node of nodes) {
        this.byPath.set(node.path, node);
        this.parentOf.set(node.path, parent);
        if (node.kind === 'leaf') this.leafByStep.set(node.step, node);
        if (node.kind === 'container') index(node.children, node);
      }
    };
    index(tree.nodes, undefined);
    this.top = tree.nodes.map((node) => this.place(node, tree.sequence, undefined));
    // containers' states need their children's (children come after their parents in `all`);
    // requires need their targets' states
    for (const run of [...this.all].reverse()) if (run.node.kind === 'container') this.containerState(run);
    for (const run of this.all) this.settle(run);
  }

  /** Reads the run's tasks and its current recovery's triggers from the store. */
  static read(reader: Reader, run: RunRow, tree: TreeDescription): RunTree {
    return new RunTree(tree, run, reader.tasks(run.id), reader.firedTriggers(run.id, run.recovery));
  }

  node(path: string): TreeNode | undefined {
    return this.byPath.get(path);
  }

  /** The container a node is in; undefined at the top level. */
  parent(node: TreeNode): TreeNode | undefined {
    return this.parentOf.get(node.path);
  }

  /** The node's runs, in sequence order. */
  runsOfNode(node: TreeNode): readonly NodeRun[] {
    return this.runsOf.get(node.path) ?? [];
  }

  /** Every compiled step the tree owns (leaves' steps and containers' bookkeeping). */
  ownedSteps(): Map<string, TreeNode> {
    const owned = new Map<string, TreeNode>();
    for (const node of this.byPath.values()) {
      if (node.kind === 'leaf') owned.set(node.step, node);
      else
        for (const step of [...node.bookkeeping, node.steps.begin, node.steps.success]) owned.set(step, node);
    }
    return owned;
  }

  /** The node (by path) a leaf's compiled step belongs to. */
  leafOfStep(step: string): TreeNode | undefined {
    return this.leafByStep.get(step);
  }

  /**
   * The run of `target` that a requirement of `from` looks at: a sibling's in the same iteration, a
   * step outside the container's in the enclosing sequence.
   */
  targetRun(from: NodeRun, target: TreeNode): NodeRun | undefined {
    const home = this.parent(target);
    let at: NodeRun | undefined = from;
    while (at !== undefined && this.parent(at.node) !== home) at = at.parent?.container;
    if (at === undefined) return undefined;
    const siblings = at.parent ? at.parent.children : this.top;
    return siblings.find((run) => run.node === target);
  }

  /** The requirement's truth for `run`, its targets looked up as `targetRun` does. */
  truth(run: NodeRun, requires: TreeRequirement): Truth {
    if ('node' in requires) {
      const target = this.node(requires.node);
      const at = target ? this.targetRun(run, target) : undefined;
      return at ? statusTruth(this.settle(at), requires.status) : undefined;
    }
    const values = requires.items.map((item) => this.truth(run, item));
    if (requires.op === 'and') {
      if (values.includes(false)) return false;
      return values.every((value) => value === true) ? true : undefined;
    }
    if (values.includes(true)) return true;
    return values.every((value) => value === false) ? false : undefined;
  }

  /** True when the iteration's start event fired. */
  private iterationStarted(container: TreeNode & { kind: 'container' }, sequence: string): boolean {
    return this.fired.has(key(container.iteration.start, sequence));
  }

  private place(node: TreeNode, sequence: string, parent: IterationRun | undefined): NodeRun {
    const run: NodeRun = { node, sequence, parent, state: 'not-started', iterations: [] };
    this.all.push(run);
    const list = this.runsOf.get(node.path) ?? [];
    list.push(run);
    this.runsOf.set(node.path, list);
    if (node.kind === 'leaf') {
      const task = this.tasks.get(key(node.step, sequence));
      if (task) {
        run.task = task;
        run.state = taskState(task);
      }
      return run;
    }
    const task = this.tasks.get(key(node.steps.begin, sequence));
    if (task) run.task = task;
    const first = sequence + this.tree.iterationSeparator + 1;
    const started = task !== undefined || this.iterationStarted(node, first);
    // a container that has not started shows its first iteration only: enough to explain why
    const count = started ? (node.repeats ?? 1) : Math.min(node.repeats ?? 1, 1);
    for (let k = 1; k <= count; k++) {
      const iterationSequence = sequence + this.tree.iterationSeparator + k;
      const iteration: IterationRun = {
        container: run,
        k,
        sequence: iterationSequence,
        state: this.iterationStarted(node, iterationSequence) ? 'active' : 'not-started',
        children: [],
      };
      run.iterations.push(iteration);
      for (const child of node.children)
        iteration.children.push(this.place(child, iterationSequence, iteration));
    }
    if (started)
      run.state = task && (task.status === 'ready' || task.status === 'allocate') ? 'waiting' : 'active';
    return run;
  }

  /** A node run's state once its requires are known: `dead` when they can no longer hold. */
  private settle(run: NodeRun): NodeState {
    if (run.state !== 'not-started' || run.node.requires === undefined || this.evaluating.has(run))
      return run.state;
    this.evaluating.add(run);
    try {
      if (this.truth(run, run.node.requires) === false) run.state = 'dead';
    } finally {
      this.evaluating.delete(run);
    }
    return run.state;
  }

  /** A started container's state and its iterations' outcomes (children are settled first). */
  private containerState(run: NodeRun): void {
    const node = run.node;
    if (node.kind !== 'container') return;
    for (const iteration of run.iterations) {
      if (iteration.state === 'not-started') continue;
      const fired = (event: string | undefined) =>
        event !== undefined && this.fired.has(key(event, iteration.sequence));
      if (fired(node.iteration.success)) iteration.state = 'success';
      else if (fired(node.iteration.failure)) iteration.state = 'failure';
      // a failure nothing handles fires no event: once the run is over, the iteration failed
      else if (!this.live && iteration.children.some((child) => child.state === 'failure'))
        iteration.state = 'failure';
    }
    if (run.state !== 'active' && run.state !== 'waiting') return;
    const succeeded = this.tasks.get(key(node.steps.success, run.sequence))?.status === 'success';
    const failed =
      (node.steps.failure !== undefined &&
        this.tasks.get(key(node.steps.failure, run.sequence))?.status === 'success') ||
      run.iterations.some((iteration) => iteration.state === 'failure');
    if (failed) run.state = 'failure';
    else if (succeeded) run.state = this.allSkipped(run) ? 'skipped' : 'success';
  }

  /** Every leaf that ran inside the container was skipped by recovery (and at least one did). */
  private allSkipped(run: NodeRun): boolean {
    let skipped = 0;
    const visit = (at: NodeRun): boolean => {
      if (at.node.kind === 'leaf') {
        if (at.state === 'skipped') skipped++;
        return at.state === 'skipped' || at.state === 'dead' || at.state === 'not-started';
      }
      return at.iterations.every((iteration) => iteration.children.every(visit));
    };
    return visit(run) && skipped > 0;
  }
}

/** What a requirement on `status` makes of a node that came to `state`. */
export function statusTruth(state: NodeState, status: StepStatus): Truth {
  if (state === 'dead') return false;
  const ended = state === 'success' || state === 'skipped' || state === 'failure';
  switch (status) {
    case 'success':
      return ended ? state !== 'failure' : undefined;
    case 'failure':
      return ended ? state === 'failure' : undefined;
    case 'complete':
      return ended ? true : undefined;
    case 'active':
      return ended || state === 'active' ? true : undefined;
    case 'ready':
      return state === 'not-started' ? undefined : true;
  }
}

const RANK: Record<NodeState, number> = {
  failure: 6,
  active: 5,
  waiting: 4,
  success: 3,
  skipped: 2,
  dead: 1,
  'not-started': 0,
};

/** A node's state over all its runs: the worst one that started, else dead, else not started. */
export function overallState(runs: readonly NodeRun[]): NodeState {
  let worst: NodeState = 'not-started';
  for (const run of runs) if (RANK[run.state] > RANK[worst]) worst = run.state;
  // a node that ran somewhere is not dead for having been dead elsewhere (a requirement or-ed away)
  return worst;
}

/** A task's state as the tree shows it (as `stepStates` colours steps). */
function taskState(task: TaskRow): NodeState {
  if (task.status === 'failure') return 'failure';
  if (task.status === 'active') return 'active';
  if (task.status === 'success') return task.skipped ? 'skipped' : 'success';
  return 'waiting';
}

function key(name: string, sequence: string): string {
  return `${name}\0${sequence}`;
}

/** The iterations of a container over the runs of it that started, in order. */
export function iterationsOf(tree: RunTree, node: TreeNode): IterationRun[] {
  return tree
    .runsOfNode(node)
    .filter((run) => run.state !== 'not-started' && run.state !== 'dead')
    .flatMap((run) => run.iterations);
}

/** The words the tools use for a state. */
export const STATE_WORDS: Record<NodeState | IterationState, string> = {
  success: 'success',
  skipped: 'skipped',
  failure: 'failure',
  active: 'running',
  waiting: 'waiting',
  dead: 'will not run',
  'not-started': 'not started',
};

/** A container's iterations in words: `head` ("3 iterations"), `parts` ("1.1 success", ... or counts). */
export interface IterationSummary {
  head: string;
  parts: string[];
}

/**
 * "3 iterations" and each iteration's outcome ("1.1 success"), or counts of outcomes beyond `list`
 * iterations ("10 success", "1 failure (1.7)"); undefined for a container that does not repeat.
 */
export function iterationSummary(tree: RunTree, node: TreeNode, list = 8): IterationSummary | undefined {
  if (node.kind !== 'container' || node.repeats === undefined) return undefined;
  const runs = tree.runsOfNode(node);
  const started = runs.filter((run) => run.state !== 'not-started' && run.state !== 'dead');
  const declared = node.repeats * Math.max(1, started.length);
  const head = `${declared} iteration${declared === 1 ? '' : 's'}`;
  if (started.length === 0)
    return { head, parts: [overallState(runs) === 'dead' ? 'will not run' : 'not started'] };
  const iterations = iterationsOf(tree, node);
  if (iterations.length <= list)
    return { head, parts: iterations.map((it) => `${it.sequence} ${STATE_WORDS[it.state]}`) };
  const byState = new Map<IterationState, IterationRun[]>();
  for (const it of iterations) {
    const same = byState.get(it.state) ?? [];
    same.push(it);
    byState.set(it.state, same);
  }
  const order: IterationState[] = ['success', 'failure', 'active', 'not-started'];
  const parts = order.flatMap((state) => {
    const its = byState.get(state);
    if (its === undefined) return [];
    const named = state === 'failure' || state === 'active';
    const where = named
      ? ` (${its
          .slice(0, 3)
          .map((it) => it.sequence)
          .join(', ')}${its.length > 3 ? ', …' : ''})`
      : '';
    return [`${its.length} ${STATE_WORDS[state]}${where}`];
  });
  return { head, parts };
}

/** The summary on one line: "3 iterations: 1.1 success, 1.2 failure, 1.3 not started". */
export function iterationText(summary: IterationSummary): string {
  return summary.parts.length === 0 ? summary.head : `${summary.head}: ${summary.parts.join(', ')}`;
}
