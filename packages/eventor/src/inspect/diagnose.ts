import type { SerializedError } from '../describe.js';
import { type Expr, evaluateExpr, exprEvents } from '../model/expression.js';
import type { FlowShape } from '../model/flow.js';
import { handlesFailure } from '../model/step.js';
import type { RunRow, TaskRow } from '../store/types.js';
import { assocKey, type DelayInfo, type Reader, runState, type TriggerRow } from './reader.js';

/** A task as `why` reports it. */
export interface TaskBrief {
  step: string;
  sequence: string;
  recovery: number;
  status: string;
  attempts: number;
  skipped: boolean;
  error?: string;
}

/** The value of an expression (or one of its parts) in a sequence. */
export type ExprState =
  | { op: 'event'; name: string; value: boolean }
  | { op: 'and' | 'or'; value: boolean; items: ExprState[] };

/** What can fire an event that has not fired. */
export type EventSource =
  /** A step fires it when its task reaches `status`; `task` is that step's task in the sequence. */
  | { kind: 'step'; step: string; status: string; task?: TaskBrief }
  /** An assoc from `event` fires it (after `delayMs`); `upstream` explains `event` when it did not fire. */
  | {
      kind: 'assoc';
      event: string;
      fired: boolean;
      delayMs?: number;
      delay?: { dueAt: number; fired: boolean };
      upstream?: EventState;
    }
  /** Nothing in the flow fires it: only triggerEvent() does. */
  | { kind: 'external' };

export interface EventState {
  event: string;
  fired: boolean;
  /** Fired but its assocs not yet acted on (the run ended before it got there). */
  unacted?: boolean;
  expr?: ExprState;
  /** For an expression that is false: the events it is waiting for, each explained. */
  inputs?: EventState[];
  sources?: EventSource[];
  /** Not explained further: already explained above, or too deep. */
  elided?: boolean;
}

/** Why a step's task in a sequence has (not) run. */
export type Reason =
  | { kind: 'ran'; task: TaskBrief; earlier?: TaskBrief }
  | { kind: 'running'; task: TaskBrief; since: number }
  | {
      kind: 'pool';
      task: TaskBrief;
      pools: Array<{ pool: string; amount: number; holders: TaskBrief[]; finished: TaskBrief[] }>;
    }
  | { kind: 'cap'; task: TaskBrief; maxConcurrent: number; running: TaskBrief[] }
  | { kind: 'retry'; task: TaskBrief }
  | { kind: 'slot'; task: TaskBrief }
  | { kind: 'run-ended'; task?: TaskBrief; runStatus: string }
  | { kind: 'stopped'; failures: TaskBrief[]; runStatus: string }
  | { kind: 'event'; event: EventState; delayMs?: number }
  | { kind: 'delay'; event: string; dueAt: number; targets: string[] }
  | { kind: 'unacted'; event: string }
  | { kind: 'no-assoc' };

export interface SequenceDiagnosis {
  sequence: string;
  /** ran: finished in this recovery; running: active or holding its resources; waiting: has a
   *  task that has not started; not-started: no task in this recovery. */
  verdict: 'ran' | 'running' | 'waiting' | 'not-started';
  reasons: Reason[];
  /** The step's latest task in an earlier recovery, when it has none in this one. */
  earlier?: TaskBrief;
}

export interface StepDiagnosis {
  step: string;
  runId: string;
  name: string;
  recovery: number;
  runStatus: string;
  sequences: SequenceDiagnosis[];
  /** Sequences left out of the report (only the first few are explained without --sequence). */
  moreSequences: number;
}

/** How many sequences `why` explains when none is given. */
export const SEQUENCE_LIMIT = 10;
const MAX_DEPTH = 4;

type ShapeStep = FlowShape['steps'][number];
type ShapeAssoc = FlowShape['assocs'][number];

/**
 * Explains, from a run's recorded shape and its store rows, why `step` has or has not run in each
 * sequence (or in `sequence` only, or in each of a list).
 */
export function diagnoseStep(
  reader: Reader,
  run: RunRow,
  shape: FlowShape,
  step: string,
  sequence: string | readonly string[] | undefined,
): StepDiagnosis {
  const context = new RunContext(reader, run, shape);
  let sequences: string[];
  let more = 0;
  if (typeof sequence === 'string') sequences = [sequence];
  else if (sequence !== undefined) sequences = [...sequence];
  else {
    const all = context.candidateSequences(step);
    sequences = all.slice(0, SEQUENCE_LIMIT);
    more = all.length - sequences.length;
  }
  return {
    step,
    runId: run.id,
    name: run.name,
    recovery: run.recovery,
    runStatus: context.runStatus,
    sequences: sequences.map((seq) => context.diagnose(step, seq)),
    moreSequences: more,
  };
}

class RunContext {
  readonly runStatus: string;
  private readonly live: boolean;
  private readonly recovery: number;
  private readonly tasks: TaskRow[];
  private readonly current: TaskRow[];
  private readonly steps: Map<string, ShapeStep>;
  private readonly events: Map<string, Expr | undefined>;
  private readonly triggerCache = new Map<string, Map<string, TriggerRow>>();
  private readonly delayCache = new Map<string, DelayInfo[]>();
  private readonly unhandled: TaskRow[];

  constructor(
    private readonly reader: Reader,
    private readonly run: RunRow,
    private readonly shape: FlowShape,
  ) {
    this.runStatus = runState(run);
    this.live = this.runStatus === 'running';
    this.recovery = run.recovery;
    this.tasks = reader.tasks(run.id);
    this.current = this.tasks.filter((task) => task.recovery === this.recovery);
    this.steps = new Map(shape.steps.map((s) => [s.name, s]));
    this.events = new Map(shape.events.map((e) => [e.name, e.expr]));
    this.unhandled = this.current.filter(
      (task) => task.status === 'failure' && !handlesFailure(this.steps.get(task.step)?.triggers ?? {}),
    );
  }

  /**
   * The sequences worth explaining: where the step has a task in this recovery, or where an event
   * that starts it (or feeds one that does) fired; failing those, where the run was started
   * (events fired before the recovery's first task). Sequences a flow derives for other steps
   * (sequent's iterations) would only add noise.
   */
  candidateSequences(step: string): string[] {
    const seen = new Set<string>();
    for (const task of this.current) if (task.step === step) seen.add(task.sequence);
    const fired = this.reader.firedTriggers(this.run.id, this.recovery);
    const relevant = this.eventsFeeding(step);
    for (const trigger of fired) if (relevant.has(trigger.event)) seen.add(trigger.sequence);
    if (seen.size === 0) {
      // the sequences the program started the run in: fired by the time this recovery made its first
      // task (the same millisecond counts: what that first pass fired shares its cause's sequence)
      let firstTask = Number.POSITIVE_INFINITY;
      for (const task of this.current) firstTask = Math.min(firstTask, task.createdAt);
      for (const trigger of fired) if (trigger.createdAt <= firstTask) seen.add(trigger.sequence);
    }
    if (seen.size === 0) for (const task of this.tasks) if (task.step === step) seen.add(task.sequence);
    if (seen.size === 0) seen.add('0');
    return [...seen];
  }

  /** The events whose assocs start `step`, with their expression inputs and the events assoc'ed to them. */
  private eventsFeeding(step: string): Set<string> {
    const events = new Set<string>();
    for (const assoc of this.shape.assocs) {
      if (assoc.targets.some((t) => t.kind === 'step' && t.name === step)) events.add(assoc.event);
    }
    for (const event of [...events]) {
      const expr = this.events.get(event);
      if (expr) exprEvents(expr, events);
    }
    for (const assoc of this.shape.assocs) {
      if (assoc.targets.some((t) => t.kind === 'event' && events.has(t.name))) events.add(assoc.event);
    }
    return events;
  }

  diagnose(step: string, sequence: string): SequenceDiagnosis {
    const task = this.current.find((t) => t.step === step && t.sequence === sequence);
    const earlierRow = this.latestEarlier(step, sequence);
    const earlier = earlierRow ? brief(earlierRow) : undefined;
    if (task) {
      const status = task.status;
      if (status === 'success' || status === 'failure') {
        const reason: Reason = { kind: 'ran', task: brief(task) };
        if (earlier) reason.earlier = earlier;
        return { sequence, verdict: 'ran', reasons: [reason] };
      }
      if (status === 'active') {
        return {
          sequence,
          verdict: 'running',
          reasons: [{ kind: 'running', task: brief(task), since: task.updatedAt }],
        };
      }
      return { sequence, verdict: 'waiting', reasons: this.waitingReasons(task) };
    }
    const reasons: Reason[] = [];
    const stopped = this.stoppedReason();
    if (stopped) reasons.push(stopped);
    for (const reason of this.startReasons(step, sequence)) reasons.push(reason);
    if (!stopped && !this.live && reasons.every((r) => r.kind !== 'delay' && r.kind !== 'event')) {
      reasons.push({ kind: 'run-ended', runStatus: this.runStatus });
    }
    const diagnosis: SequenceDiagnosis = { sequence, verdict: 'not-started', reasons };
    if (earlier) diagnosis.earlier = earlier;
    return diagnosis;
  }

  /** A task that exists but has not started: pools, caps, a retry's backoff, or a stopped run. */
  private waitingReasons(task: TaskRow): Reason[] {
    const reasons: Reason[] = [];
    const stopped = this.stoppedReason();
    if (stopped) reasons.push(stopped);
    const step = this.steps.get(task.step);
    if (task.status === 'allocate') {
      const pools = (step?.acquires ?? []).map(({ pool, amount }) => {
        const others = this.current.filter(
          (t) => t !== task && (this.steps.get(t.step)?.acquires ?? []).some((claim) => claim.pool === pool),
        );
        return {
          pool,
          amount,
          holders: others.filter((t) => t.status === 'active').map(brief),
          finished: others.filter((t) => t.status === 'success' || t.status === 'failure').map(brief),
        };
      });
      reasons.push({ kind: 'pool', task: brief(task), pools });
      return reasons;
    }
    const cap = step?.maxConcurrent ?? 0;
    const running = this.current.filter((t) => t.step === task.step && t.status === 'active');
    if (cap > 0 && running.length >= cap) {
      reasons.push({ kind: 'cap', task: brief(task), maxConcurrent: cap, running: running.map(brief) });
    } else if (task.error !== null && task.attempts > 0) {
      reasons.push({ kind: 'retry', task: brief(task) });
    } else if (!stopped) {
      reasons.push(
        this.live
          ? { kind: 'slot', task: brief(task) }
          : { kind: 'run-ended', task: brief(task), runStatus: this.runStatus },
      );
    }
    return reasons;
  }

  /** The run ended (or is ending) on an unhandled failure. */
  private stoppedReason(): Reason | undefined {
    if (this.unhandled.length === 0) return undefined;
    return { kind: 'stopped', failures: this.unhandled.map(brief), runStatus: this.runStatus };
  }

  /** Why no task was created in `sequence`: the events whose assocs would create it. */
  private startReasons(step: string, sequence: string): Reason[] {
    const assocs = this.shape.assocs.filter((assoc) =>
      assoc.targets.some((target) => target.kind === 'step' && target.name === step),
    );
    if (assocs.length === 0) return [{ kind: 'no-assoc' }];
    const visited = new Set<string>();
    return assocs.map((assoc) => {
      const fired = this.fired(sequence).get(assoc.event);
      if (!fired) {
        const reason: Reason = { kind: 'event', event: this.explainEvent(assoc.event, sequence, 0, visited) };
        if (assoc.delayMs) reason.delayMs = assoc.delayMs;
        return reason;
      }
      if (!fired.acted) return { kind: 'unacted', event: assoc.event };
      const delay = assoc.delayMs ? this.delayOf(assoc, sequence) : undefined;
      if (delay && !delay.fired) {
        return {
          kind: 'delay',
          event: assoc.event,
          dueAt: delay.dueAt,
          targets: assoc.targets.map((t) => t.name),
        };
      }
      // fired and acted, yet no task: the run was stopped inside the pass, or the assoc is newer than the run
      return { kind: 'event', event: { event: assoc.event, fired: true } };
    });
  }

  private explainEvent(event: string, sequence: string, depth: number, visited: Set<string>): EventState {
    const trigger = this.fired(sequence).get(event);
    if (trigger) return trigger.acted ? { event, fired: true } : { event, fired: true, unacted: true };
    if (visited.has(event) || depth >= MAX_DEPTH) return { event, fired: false, elided: true };
    visited.add(event);
    const state: EventState = { event, fired: false };
    const expr = this.events.get(event);
    if (expr) {
      state.expr = this.evaluate(expr, sequence);
      const inputs = [...exprEvents(expr)].filter((name) => !this.fired(sequence).has(name));
      state.inputs = inputs.map((name) => this.explainEvent(name, sequence, depth + 1, visited));
    }
    const sources: EventSource[] = [];
    for (const step of this.shape.steps) {
      for (const [status, events] of Object.entries(step.triggers ?? {})) {
        if (!events.includes(event)) continue;
        const task = this.current.find((t) => t.step === step.name && t.sequence === sequence);
        sources.push(
          task
            ? { kind: 'step', step: step.name, status, task: brief(task) }
            : { kind: 'step', step: step.name, status },
        );
      }
    }
    for (const assoc of this.shape.assocs) {
      if (!assoc.targets.some((target) => target.kind === 'event' && target.name === event)) continue;
      const fired = this.fired(sequence).has(assoc.event);
      const source: EventSource = { kind: 'assoc', event: assoc.event, fired };
      if (assoc.delayMs) {
        source.delayMs = assoc.delayMs;
        const delay = this.delayOf(assoc, sequence);
        if (delay) source.delay = { dueAt: delay.dueAt, fired: delay.fired };
      }
      if (!fired) source.upstream = this.explainEvent(assoc.event, sequence, depth + 1, visited);
      sources.push(source);
    }
    if (sources.length === 0 && !expr) sources.push({ kind: 'external' });
    if (sources.length > 0) state.sources = sources;
    return state;
  }

  private evaluate(expr: Expr, sequence: string): ExprState {
    if (expr.op === 'event')
      return { op: 'event', name: expr.name, value: this.fired(sequence).has(expr.name) };
    const fired = this.fired(sequence);
    const value = evaluateExpr(expr, (event) => fired.has(event));
    return { op: expr.op, value, items: expr.items.map((item) => this.evaluate(item, sequence)) };
  }

  private fired(sequence: string): Map<string, TriggerRow> {
    let fired = this.triggerCache.get(sequence);
    if (!fired) {
      fired = new Map(
        this.reader.firedTriggers(this.run.id, this.recovery, sequence).map((t) => [t.event, t]),
      );
      this.triggerCache.set(sequence, fired);
    }
    return fired;
  }

  private delayOf(assoc: ShapeAssoc, sequence: string): DelayInfo | undefined {
    let delays = this.delayCache.get(sequence);
    if (!delays) {
      delays = this.reader.delays(this.run.id, this.recovery, sequence);
      this.delayCache.set(sequence, delays);
    }
    const key = assocKey(assoc);
    return delays.find((delay) => delay.assoc === key);
  }

  private latestEarlier(step: string, sequence: string): TaskRow | undefined {
    let found: TaskRow | undefined;
    for (const task of this.tasks) {
      if (task.step !== step || task.sequence !== sequence || task.recovery >= this.recovery) continue;
      if (!found || task.recovery > found.recovery) found = task;
    }
    return found;
  }
}

export function brief(task: TaskRow): TaskBrief {
  const out: TaskBrief = {
    step: task.step,
    sequence: task.sequence,
    recovery: task.recovery,
    status: task.status,
    attempts: task.attempts,
    skipped: task.skipped === 1,
  };
  if (task.error !== null) {
    try {
      out.error = (JSON.parse(task.error) as SerializedError).message;
    } catch {
      out.error = task.error;
    }
  }
  return out;
}
