/**
 * `eventor why` for a node of a run's tree: what its requirements wait for (in which iteration),
 * which iteration or container has not started, and for a leaf's task what `diagnoseStep` says of
 * its step. Compiled names never reach the answer: bookkeeping steps are named by their container.
 */
import type { FlowShape } from '../model/flow.js';
import type { StepStatus } from '../model/status.js';
import type { TreeNode, TreeRequirement } from '../model/tree.js';
import type { RunRow } from '../store/types.js';
import { diagnoseStep, type Reason, SEQUENCE_LIMIT, type TaskBrief } from './diagnose.js';
import { type Reader, runState } from './reader.js';
import {
  type IterationState,
  type NodeRun,
  type NodeState,
  type RunTree,
  STATE_WORDS,
  type Truth,
} from './tree.js';

/** A `[node, status]` requirement and how it stands in one sequence. */
export interface RequirementItemState {
  node: string;
  status: StepStatus;
  value: Truth;
  /** Where the target runs; `iterationOf` is the container whose iteration that is. */
  sequence?: string;
  iterationOf?: string;
  state: NodeState;
}

export interface RequirementGroupState {
  op: 'and' | 'or';
  value: Truth;
  items: RequirementState[];
}

/** A requirement and how it stands in one sequence. */
export type RequirementState = RequirementItemState | RequirementGroupState;

export type TreeReason =
  /** What `eventor why` says of the node's own step (a leaf's task, a container's start). */
  | { kind: 'step'; reason: Reason }
  | { kind: 'requires'; requirement: RequirementState }
  /** The container the node is in has not started (or never will) in `sequence`. */
  | { kind: 'container'; container: string; sequence: string; state: NodeState; reasons: TreeReason[] }
  /** Iteration `sequence` of a started container has not started. */
  | {
      kind: 'iteration';
      container: string;
      sequence: string;
      containerState: NodeState;
      previous?: { sequence: string; state: IterationState };
    }
  /** Its requirements hold and its delay is pending. */
  | { kind: 'delay'; delayMs: number; dueAt?: number }
  /** Its requirements hold; the engine has not made its task yet (or the run ended first). */
  | { kind: 'starting'; runStatus: string }
  /** A started container: how its iterations stand. */
  | { kind: 'iterations'; state: NodeState; text: string };

export interface NodeRunDiagnosis {
  sequence: string;
  /** The container whose iteration this run is in (undefined at the top level). */
  iterationOf?: string;
  state: NodeState;
  verdict: 'ran' | 'running' | 'waiting' | 'not-started' | 'will-not-run';
  reasons: TreeReason[];
}

export interface TreeDiagnosis {
  tree: true;
  node: string;
  kind: 'leaf' | 'container';
  runId: string;
  name: string;
  recovery: number;
  runStatus: string;
  runs: NodeRunDiagnosis[];
  /** Runs left out (only the first few are explained without --sequence). */
  moreSequences: number;
  /** Why no run is explained: a container around it repeats zero times, or it does not run in the sequence asked for. */
  note?: string;
}

const ORDER: Record<NodeState, number> = {
  'not-started': 0,
  waiting: 0,
  active: 0,
  dead: 0,
  failure: 1,
  success: 1,
  skipped: 1,
};

/** Explains `node` of the run's tree in each sequence it runs in (or in `sequence` only). */
export function diagnoseNode(
  reader: Reader,
  run: RunRow,
  shape: FlowShape,
  tree: RunTree,
  node: TreeNode,
  sequence: string | undefined,
): TreeDiagnosis {
  const all = tree.runsOfNode(node);
  let chosen: NodeRun[];
  let more = 0;
  if (sequence !== undefined) chosen = all.filter((r) => r.sequence === sequence);
  else {
    // what has not run first: that is what `why` is asked about
    const sorted = [...all].sort((a, b) => ORDER[a.state] - ORDER[b.state]);
    chosen = sorted.slice(0, SEQUENCE_LIMIT);
    more = sorted.length - chosen.length;
  }
  const diagnosis: TreeDiagnosis = {
    tree: true,
    node: node.path,
    kind: node.kind,
    runId: run.id,
    name: run.name,
    recovery: run.recovery,
    runStatus: runState(run),
    runs: [],
    moreSequences: more,
  };
  if (all.length === 0) {
    const empty = ancestors(tree, node).find((at) => at.kind === 'container' && at.repeats === 0);
    diagnosis.note = empty
      ? `it never runs: its container ${empty.path} has no iterations (its repeats are empty)`
      : 'no container around it has reached it';
  } else if (chosen.length === 0) {
    const some = all.slice(0, 5).map((r) => r.sequence);
    diagnosis.note =
      `it does not run in sequence ${sequence}; it runs in ${some.join(', ')}` +
      (all.length > 5 ? ', …' : '');
  }
  const step = node.kind === 'leaf' ? node.step : node.steps.begin;
  const steps = diagnoseStep(
    reader,
    run,
    shape,
    step,
    chosen.map((r) => r.sequence),
  );
  const bySequence = new Map(steps.sequences.map((s) => [s.sequence, s]));
  const names = new Namer(tree);
  for (const at of chosen) {
    const found = bySequence.get(at.sequence);
    diagnosis.runs.push(
      new Explainer(tree, names, diagnosis.runStatus).run(at, found?.reasons ?? [], found?.verdict),
    );
  }
  return diagnosis;
}

function ancestors(tree: RunTree, node: TreeNode): TreeNode[] {
  const out: TreeNode[] = [];
  for (let at = tree.parent(node); at !== undefined; at = tree.parent(at)) out.push(at);
  return out;
}

/** Names a task of a bookkeeping step by the container it serves. */
class Namer {
  private readonly owned: Map<string, TreeNode>;
  constructor(tree: RunTree) {
    this.owned = tree.ownedSteps();
  }

  task(task: TaskBrief): TaskBrief {
    const owner = this.owned.get(task.step);
    return owner === undefined || owner.kind === 'leaf' ? task : { ...task, step: owner.path };
  }

  reason(reason: Reason): Reason {
    const t = (task: TaskBrief) => this.task(task);
    switch (reason.kind) {
      case 'ran':
        return reason.earlier
          ? { ...reason, task: t(reason.task), earlier: t(reason.earlier) }
          : { ...reason, task: t(reason.task) };
      case 'running':
      case 'retry':
      case 'slot':
        return { ...reason, task: t(reason.task) };
      case 'pool':
        return {
          ...reason,
          task: t(reason.task),
          pools: reason.pools.map((pool) => ({
            ...pool,
            holders: pool.holders.map(t),
            finished: pool.finished.map(t),
          })),
        };
      case 'cap':
        return { ...reason, task: t(reason.task), running: reason.running.map(t) };
      case 'run-ended':
        return reason.task ? { ...reason, task: t(reason.task) } : reason;
      case 'stopped':
        return { ...reason, failures: reason.failures.map(t) };
      default:
        return reason;
    }
  }
}

class Explainer {
  constructor(
    private readonly tree: RunTree,
    private readonly names: Namer,
    private readonly runStatus: string,
  ) {}

  run(at: NodeRun, stepReasons: readonly Reason[], stepVerdict: string | undefined): NodeRunDiagnosis {
    const out: NodeRunDiagnosis = {
      sequence: at.sequence,
      state: at.state,
      verdict: 'not-started',
      reasons: [],
    };
    if (at.parent) out.iterationOf = at.parent.container.node.path;
    const stopped = stepReasons.filter((r) => r.kind === 'stopped').map((r) => this.step(r));
    if (at.node.kind === 'leaf' && at.task) {
      out.verdict = (stepVerdict as NodeRunDiagnosis['verdict'] | undefined) ?? 'waiting';
      out.reasons = stepReasons.map((r) => this.step(r));
      return out;
    }
    if (at.node.kind === 'container' && at.state !== 'not-started' && at.state !== 'dead') {
      const ended = at.state === 'success' || at.state === 'failure' || at.state === 'skipped';
      out.verdict = ended ? 'ran' : at.state === 'waiting' ? 'waiting' : 'running';
      const repeats = at.node.repeats;
      const words = at.iterations.slice(0, 20).map((it) => `${it.sequence} ${STATE_WORDS[it.state]}`);
      if (at.iterations.length > 20) words.push(`… (${at.iterations.length - 20} more)`);
      const text =
        repeats === undefined ? '' : `${repeats} iteration${repeats === 1 ? '' : 's'}: ${words.join(', ')}`;
      out.reasons.push({ kind: 'iterations', state: at.state, text });
      if (at.state === 'waiting')
        for (const r of stepReasons) if (r.kind !== 'stopped') out.reasons.push(this.step(r));
      out.reasons.push(...stopped);
      return out;
    }
    out.reasons = [...stopped, ...this.notStarted(at, stepReasons)];
    out.verdict = at.state === 'dead' || this.never(out.reasons) ? 'will-not-run' : 'not-started';
    return out;
  }

  /** Why a run that has not started has not: its iteration, its requirements, its delay. */
  private notStarted(at: NodeRun, stepReasons: readonly Reason[]): TreeReason[] {
    const iteration = at.parent;
    if (iteration && iteration.state === 'not-started') {
      const container = iteration.container;
      if (container.state === 'not-started' || container.state === 'dead') {
        return [
          {
            kind: 'container',
            container: container.node.path,
            sequence: container.sequence,
            state: container.state,
            reasons: this.notStarted(container, []),
          },
        ];
      }
      const reason: TreeReason = {
        kind: 'iteration',
        container: container.node.path,
        sequence: iteration.sequence,
        containerState: container.state,
      };
      const previous = container.iterations[iteration.k - 2];
      if (previous) reason.previous = { sequence: previous.sequence, state: previous.state };
      return [reason];
    }
    const requires = at.node.requires;
    if (requires !== undefined) {
      const requirement = this.requirement(at, requires);
      if (requirement.value !== true) return [{ kind: 'requires', requirement }];
    }
    const out: TreeReason[] = [];
    for (const reason of stepReasons) {
      if (reason.kind === 'delay')
        out.push({ kind: 'delay', delayMs: at.node.delayMs ?? 0, dueAt: reason.dueAt });
      else if (
        reason.kind === 'run-ended' ||
        reason.kind === 'pool' ||
        reason.kind === 'cap' ||
        reason.kind === 'slot'
      )
        out.push(this.step(reason));
    }
    if (out.length === 0) out.push({ kind: 'starting', runStatus: this.runStatus });
    return out;
  }

  private requirement(at: NodeRun, requires: TreeRequirement): RequirementState {
    if ('node' in requires) {
      const node = this.tree.node(requires.node) as TreeNode;
      const target = this.tree.targetRun(at, node);
      const state: RequirementItemState = {
        node: requires.node,
        status: requires.status,
        value: this.tree.truth(at, requires),
        state: target?.state ?? 'not-started',
      };
      if (target) {
        state.sequence = target.sequence;
        if (target.parent) state.iterationOf = target.parent.container.node.path;
      }
      return state;
    }
    return {
      op: requires.op,
      value: this.tree.truth(at, requires),
      items: requires.items.map((item) => this.requirement(at, item)),
    };
  }

  /** An iteration that cannot start any more, or a container that will not run. */
  private never(reasons: readonly TreeReason[]): boolean {
    return reasons.some(
      (r) =>
        (r.kind === 'requires' && r.requirement.value === false) ||
        (r.kind === 'container' && (r.state === 'dead' || this.never(r.reasons))) ||
        (r.kind === 'iteration' && ['success', 'failure', 'skipped'].includes(r.containerState)),
    );
  }

  private step(reason: Reason): TreeReason {
    return { kind: 'step', reason: this.names.reason(reason) };
  }
}
