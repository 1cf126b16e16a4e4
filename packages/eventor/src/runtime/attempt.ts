import { formatMs } from '../duration.js';
import { FlowError, StepFailedError } from '../errors.js';
import type { ScopedLogger } from '../logger.js';
import type { StepDef, TaskConstruct } from '../model/step.js';
import type { RunStore } from '../store/types.js';
import { type Clock, TestClock } from './clock.js';
import type { StepContext } from './context.js';
import type { RunObserver } from './observer.js';
import {
  type ChildIdentity,
  encodeChild,
  type StepInvocation,
  type StepRunner,
  selectRunner,
} from './runners/index.js';
import type { Scheduler } from './scheduler.js';
import type { Task } from './task.js';

/** How an attempt ended; a late end of an attempt that timed out is ignored. */
export interface Completion {
  task: Task;
  attempt: number;
  ok: boolean;
  value?: unknown;
  error?: unknown;
}

export interface AttemptSettings {
  runId: string;
  recovery: number;
  maxConcurrent: number;
  taskConstruct: TaskConstruct;
  envPrefix: string;
}

/**
 * Runs attempts: picks the step's runner, gives it the step's context, arms the timeout, and hands
 * every end (value, throw, rejection, timeout) to `settled` as a Completion. Also holds the tasks
 * waiting out a retry backoff.
 */
export class Attempts {
  readonly running = new Set<Task>();
  readonly backingOff = new Set<Task>();
  private readonly contexts = new Map<Task, TaskContext>();
  private readonly runners = new Map<string, StepRunner | undefined>();
  /** Bodies of attempts with a timeout not yet settled; true once the attempt timed out. */
  private readonly openBodies = new Map<TaskContext, boolean>();
  private readonly testClock: TestClock | undefined;

  constructor(
    private readonly settings: AttemptSettings,
    private readonly scheduler: Scheduler,
    private readonly store: RunStore,
    private readonly clock: Clock,
    private readonly logger: ScopedLogger,
    private readonly observer: RunObserver | undefined,
    private readonly settled: (completion: Completion) => void,
    private readonly retryDue: (task: Task) => void,
  ) {
    this.testClock = clock instanceof TestClock ? clock : undefined;
  }

  /** The task has begun (its `active` is committed): its body runs now. */
  launch(task: Task): void {
    const attempt = task.attempts;
    const context = new TaskContext(task, this.settings, this.logger, this.clock);
    this.contexts.set(task, context);
    this.observer?.taskStarted?.({ step: task.step.name, sequence: task.sequence, attempt });
    if (this.logger.enabled('info')) {
      this.logger.info(
        { step: task.step.name, sequence: task.sequence, attempt },
        `Running step ${task.step.name}[${task.sequence}]${attempt > 1 ? ` (attempt ${attempt})` : ''}`,
      );
    }
    const timeoutMs = task.step.config.timeoutMs;
    if (timeoutMs !== undefined)
      task.timer = this.clock.at(this.clock.now() + timeoutMs, () => this.timedOut(task, attempt, timeoutMs));
    let out: unknown;
    try {
      const runner = this.runnerFor(task.step) as StepRunner;
      out = runner(new Invocation(task, context, this.stepEnv(task), this.testClock?.now(), this.store));
    } catch (error) {
      this.settled({ task, attempt, ok: false, error });
      return;
    }
    // a hostile thenable (a throwing `then` getter or method) fails the step, never the engine
    try {
      if (isPromiseLike(out)) {
        if (timeoutMs !== undefined) this.openBodies.set(context, false);
        out.then(
          (value) => this.bodyEnded(context, { task, attempt, ok: true, value }),
          (error) => this.bodyEnded(context, { task, attempt, ok: false, error }),
        );
        return;
      }
    } catch (error) {
      this.openBodies.delete(context);
      this.settled({ task, attempt, ok: false, error });
      return;
    }
    this.settled({ task, attempt, ok: true, value: out });
  }

  /** Whether a completion is the current end of a running attempt (and takes it off the running set). */
  accept(completion: Completion): boolean {
    const task = completion.task;
    if (completion.attempt !== task.attempts || task.status !== 'active' || !this.running.has(task))
      return false;
    task.timer?.cancel();
    task.timer = undefined;
    this.running.delete(task);
    this.contexts.delete(task);
    this.scheduler.vacate(task.step);
    return true;
  }

  /** Waits `waitMs` before the task may run again. */
  backOff(task: Task, waitMs: number, from: number): void {
    this.backingOff.add(task);
    task.timer = this.clock.at(from + waitMs, () => {
      task.timer = undefined;
      if (!this.backingOff.delete(task)) return;
      this.retryDue(task);
    });
  }

  /** Aborts every running attempt's signal with `reason`. */
  abortAll(reason: string): void {
    for (const context of this.contexts.values())
      context.abort(new FlowError(`Stopped: ${reason}`, { code: 'FLOW_STOPPED' }));
  }

  /** Forgets running and backing-off tasks (a stop), cancelling their timers; returns them. */
  clear(): Task[] {
    const tasks = [...this.running, ...this.backingOff];
    for (const task of tasks) {
      task.timer?.cancel();
      task.timer = undefined;
    }
    this.running.clear();
    this.backingOff.clear();
    this.contexts.clear();
    return tasks;
  }

  /** The earliest timeout or backoff, or undefined while some running step has no timeout. */
  nextTimerDue(): number | undefined {
    let dueAt = Number.POSITIVE_INFINITY;
    for (const task of this.running) {
      if (task.timer === undefined) return undefined;
      dueAt = Math.min(dueAt, task.timer.dueAt);
    }
    for (const task of this.backingOff)
      if (task.timer !== undefined) dueAt = Math.min(dueAt, task.timer.dueAt);
    return dueAt === Number.POSITIVE_INFINITY ? undefined : dueAt;
  }

  private runnerFor(step: StepDef): StepRunner | undefined {
    if (this.runners.has(step.name)) return this.runners.get(step.name);
    const runner = selectRunner(step, step.config.taskConstruct ?? this.settings.taskConstruct, {
      maxConcurrent: this.settings.maxConcurrent,
    });
    this.runners.set(step.name, runner);
    return runner;
  }

  /** Aborts the attempt's signal and fails it now; whatever the step does later is ignored. */
  private timedOut(task: Task, attempt: number, timeoutMs: number): void {
    const context = this.contexts.get(task);
    if (attempt === task.attempts && context !== undefined && this.openBodies.get(context) === false) {
      this.openBodies.set(context, true);
      this.scheduler.occupy(task.step, true);
    }
    const error = new StepFailedError(
      task.step.name,
      task.sequence,
      `timed out after ${formatMs(timeoutMs)}`,
      {
        code: 'FLOW_STEP_TIMEOUT',
      },
    );
    context?.abort(error);
    this.settled({ task, attempt, ok: false, error });
  }

  /** An attempt's body settled: one that had timed out gives its place under the caps back now. */
  private bodyEnded(context: TaskContext, completion: Completion): void {
    if (this.openBodies.get(context) === true) this.scheduler.vacate(completion.task.step, true);
    this.openBodies.delete(context);
    this.settled(completion);
  }

  private stepEnv(task: Task): Record<string, string> {
    if (task.step.kind === 'function') return EMPTY_ENV;
    const prefix = this.settings.envPrefix;
    return {
      [`${prefix}STEP_NAME`]: task.step.name,
      [`${prefix}STEP_SEQUENCE`]: task.sequence,
      [`${prefix}STEP_RECOVERY`]: String(this.settings.recovery),
      [`${prefix}RUN_ID`]: this.settings.runId,
      [`${prefix}NOW`]: String(this.clock.now()),
    };
  }
}

const EMPTY_ENV: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** What a runner receives; the step's logger is made only if the runner asks for it. */
class Invocation implements StepInvocation {
  readonly step: StepDef;
  constructor(
    private readonly task: Task,
    readonly context: TaskContext,
    readonly env: Record<string, string>,
    readonly virtualNow: number | undefined,
    private readonly store: RunStore,
  ) {
    this.step = task.step;
  }
  get logger(): ScopedLogger {
    return this.context.log;
  }
  recordChild(child: ChildIdentity): void {
    // a store that answers later (PostgreSQL) records it before the next pass can end the task
    const written = this.store.setTaskChild({ ord: this.task.ord, child: encodeChild(child) });
    if (written instanceof Promise) written.catch(() => {});
  }
  forgetChild(pid: number): void {
    const written = this.store.clearTaskChild({ ord: this.task.ord, pid });
    if (written instanceof Promise) written.catch(() => {});
  }
}

/** The `currentStep()` of one attempt; signal and logger are made on first use. */
class TaskContext implements StepContext {
  readonly name: string;
  readonly sequence: string;
  readonly recovery: number;
  readonly runId: string;
  readonly attempt: number;
  private controller: AbortController | undefined;
  private logger: ScopedLogger | undefined;

  constructor(
    task: Task,
    settings: AttemptSettings,
    private readonly parentLogger: ScopedLogger,
    private readonly clock: Clock,
  ) {
    this.name = task.step.name;
    this.sequence = task.sequence;
    this.recovery = settings.recovery;
    this.runId = settings.runId;
    this.attempt = task.attempts;
  }

  now(): number {
    return this.clock.now();
  }

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    return this.controller.signal;
  }

  get log(): ScopedLogger {
    this.logger ??= this.parentLogger.child({ step: this.name, sequence: this.sequence });
    return this.logger;
  }

  abort(reason: unknown): void {
    this.controller ??= new AbortController();
    this.controller.abort(reason);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
