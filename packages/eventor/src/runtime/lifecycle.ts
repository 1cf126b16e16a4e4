import { describeThrown, serializeError } from '../describe.js';
import { formatMs } from '../duration.js';
import { StepFailedError } from '../errors.js';
import type { ScopedLogger } from '../logger.js';
import type { StepDef } from '../model/step.js';
import { encodeResult } from '../store/result-codec.js';
import { keyOf, type RunSnapshot } from '../store/types.js';
import type { Attempts, Completion } from './attempt.js';
import type { Firing } from './firing.js';
import type { RunObserver } from './observer.js';
import { cannotSucceedLater } from './runners/index.js';
import type { Scheduler } from './scheduler.js';
import { type CommitBatch, Task } from './task.js';

export interface LifecycleParts {
  batch: CommitBatch;
  firing: Firing;
  scheduler: Scheduler;
  attempts: Attempts;
  snapshot: RunSnapshot;
  recovery: number;
  stopOnException: boolean;
  logger: ScopedLogger;
  observer: RunObserver | undefined;
}

/**
 * What happens around a task's moves: the triggers it fires, the resources it releases, the retry
 * it waits for, the recovery policy that skips it, and the log lines and observer calls that go
 * with each. Tasks to launch are collected for the loop to start once the pass is committed.
 */
export class Lifecycle {
  /** Failed tasks no failure or complete trigger handles: they make the run fail. */
  readonly unhandled: Array<{ step: string; sequence: string }> = [];
  stoppedByException = false;
  /** Set by a stop: failed attempts are not retried. */
  stopping = false;
  private toLaunch: Task[] = [];
  private readonly taskKeys: Set<string>;
  private nextOrd: number;

  constructor(private readonly parts: LifecycleParts) {
    this.taskKeys = parts.snapshot.tasks;
    this.nextOrd = parts.snapshot.nextTaskOrd;
  }

  /** The `ord` the run's next task will get. */
  get peekOrd(): number {
    return this.nextOrd;
  }

  /** Tasks begun in this pass, to launch once it is committed. */
  takeLaunches(): Task[] {
    const launch = this.toLaunch;
    this.toLaunch = [];
    return launch;
  }

  /** Creates the task of `step` in `sequence` unless this recovery has it already. */
  createTask(step: StepDef, sequence: string): void {
    const key = keyOf(step.name, sequence);
    if (this.taskKeys.has(key)) return;
    this.taskKeys.add(key);
    const task = Task.created(step, sequence, this.nextOrd++, this.parts.batch);
    if (this.parts.recovery > 0 && this.replaySkips(task)) return;
    this.parts.firing.fireAll(step.triggers.ready, sequence);
    this.parts.scheduler.enqueue(task);
  }

  failedEarlier(failed: { step: string; sequence: string }, step: StepDef | undefined): void {
    if (step?.handlesFailure) return;
    this.unhandled.push(failed);
    if (!step || this.stopsOnException(step)) this.stoppedByException = true;
  }

  begin(task: Task): void {
    const step = task.step;
    task.begin();
    this.parts.firing.fireAll(step.triggers.active, task.sequence);
    if (step.kind === 'noop') {
      this.finish(task, 'success', null, undefined);
      return;
    }
    this.parts.attempts.running.add(task);
    this.parts.scheduler.occupy(step);
    this.toLaunch.push(task);
  }

  complete(completion: Completion): void {
    if (!this.parts.attempts.accept(completion)) return;
    const task = completion.task;
    if (completion.ok) {
      const result = encodeResult(completion.value);
      if (result.ok) {
        this.finish(task, 'success', result.bytes, undefined);
        return;
      }
      this.failAttempt(
        task,
        new StepFailedError(task.step.name, task.sequence, result.reason, {
          code: 'FLOW_RESULT_NOT_SERIALIZABLE',
        }),
      );
      return;
    }
    const cause = completion.error;
    if (isOwnFailure(cause, task.step.name)) {
      this.failAttempt(task, cause);
      return;
    }
    this.failAttempt(
      task,
      new StepFailedError(task.step.name, task.sequence, describeThrown(cause), { cause }),
    );
  }

  /** A retry's backoff is over: the task waits for room again. */
  retry(task: Task): void {
    this.parts.scheduler.enqueue(task);
  }

  /** After a stop: what was running or waiting to retry is recorded failed with the reason; nothing fires. */
  recordStopped(reason: string, retryDue: readonly Task[]): void {
    const { attempts, scheduler, logger } = this.parts;
    const running = new Set(attempts.running);
    for (const task of [...attempts.clear(), ...retryDue]) {
      const error = new StepFailedError(task.step.name, task.sequence, `stopped: ${reason}`, {
        code: 'FLOW_STEP_STOPPED',
      });
      // a task backing off released its resources when its attempt failed
      if (running.has(task)) {
        scheduler.resources.releaseAll(task.step.releases);
        scheduler.vacate(task.step);
      }
      task.fail(JSON.stringify(serializeError(error)), false);
      logger.warn({ step: task.step.name, sequence: task.sequence }, error.message);
    }
  }

  /** A failed attempt: retry after the backoff while attempts remain, else the task fails. */
  private failAttempt(task: Task, error: StepFailedError): void {
    const { retries, backoffMs } = task.step.config;
    if (task.attempts > retries || this.stopping || cannotSucceedLater(error)) {
      this.finish(task, 'failure', null, error);
      return;
    }
    const waitMs = backoffMs * 2 ** (task.attempts - 1);
    this.parts.scheduler.resources.releaseAll(task.step.releases);
    task.fail(JSON.stringify(serializeError(error)), true);
    this.parts.logger.warn(
      { step: task.step.name, sequence: task.sequence, attempt: task.attempts, retryInMs: waitMs },
      `${error.message} (attempt ${task.attempts} of ${retries + 1}); retrying in ${formatMs(waitMs)}`,
    );
    this.parts.attempts.backOff(task, waitMs, this.parts.firing.now);
  }

  /** Records a task's end, releases its resources and fires its triggers (all in this pass). */
  private finish(
    task: Task,
    status: 'success' | 'failure',
    result: Buffer | null,
    error: StepFailedError | undefined,
  ) {
    const { firing, logger } = this.parts;
    const step = task.step;
    if (status === 'success') task.succeed(result);
    else task.fail(JSON.stringify(serializeError(error)), false);
    this.parts.observer?.taskEnded?.({ step: step.name, sequence: task.sequence, status, skipped: false });
    this.parts.scheduler.resources.releaseAll(step.releases);
    if (status === 'success') {
      if (logger.enabled('info'))
        logger.info(
          { step: step.name, sequence: task.sequence },
          `Step ${step.name}[${task.sequence}] succeeded`,
        );
      firing.fireAll(step.triggers.success, task.sequence);
      return;
    }
    logger.error(
      { step: step.name, sequence: task.sequence, err: error, handled: step.handlesFailure },
      error?.message ?? `Step ${step.name}[${task.sequence}] failed`,
    );
    firing.fireAll(step.triggers.failure, task.sequence);
    if (!step.handlesFailure) {
      this.unhandled.push({ step: step.name, sequence: task.sequence });
      if (this.stopsOnException(step)) this.stoppedByException = true;
    }
  }

  /** In a recovery, applies the step's policy to its latest earlier attempt; true if skipped. */
  private replaySkips(task: Task): boolean {
    const { snapshot, firing, logger } = this.parts;
    const earlier = snapshot.earlier.get(keyOf(task.step.name, task.sequence));
    if (!earlier) return false;
    const status = earlier.status === 'allocate' ? 'ready' : earlier.status;
    if (task.step.recovery[status] !== 'skip') {
      // an attempt cut short by a crash or stop counts: retries go on from there instead of starting over
      if (status !== 'failure' && status !== 'success') task.attempts = earlier.attempts;
      return false;
    }
    task.skip(earlier);
    if (logger.enabled('info')) {
      logger.info(
        { step: task.step.name, sequence: task.sequence, previous: earlier.status },
        `Skipping step ${task.step.name}[${task.sequence}]: its earlier attempt ended ${earlier.status}`,
      );
    }
    if (task.step.releasesGiven) this.parts.scheduler.resources.releaseAll(task.step.releases);
    this.parts.observer?.taskEnded?.({
      step: task.step.name,
      sequence: task.sequence,
      status: 'success',
      skipped: true,
    });
    // it went through ready and active in the run it is skipped from: what those started must start again
    firing.fireAll(task.step.triggers.ready, task.sequence);
    firing.fireAll(task.step.triggers.active, task.sequence);
    firing.fireAll(task.step.triggers.success, task.sequence);
    // and what its body fired with triggerEvent, since the body does not run again
    const source = { step: task.step.name, sequence: task.sequence };
    for (const fired of snapshot.firedByBodies.get(keyOf(earlier.recovery, source.step, source.sequence)) ??
      [])
      firing.fire(fired.event, fired.sequence, source);
    return true;
  }

  private stopsOnException(step: StepDef): boolean {
    return step.config.stopOnException ?? this.parts.stopOnException;
  }
}

/** The engine's own failure of this step (a timeout), told apart safely from whatever a step threw. */
function isOwnFailure(value: unknown, step: string): value is StepFailedError {
  try {
    return value instanceof StepFailedError && value.step === step;
  } catch {
    return false;
  }
}
