import type { ScopedLogger } from '../logger.js';
import type { FlowDefinition } from '../model/flow.js';
import type { ResourcePool } from '../model/resource-pool.js';
import type { TaskConstruct } from '../model/step.js';
import { keyOf, type RunStore, type TriggerSource } from '../store/types.js';
import { Attempts, type Completion } from './attempt.js';
import { type Clock, now, TestClock } from './clock.js';
import { Firing } from './firing.js';
import { Lifecycle } from './lifecycle.js';
import type { RunObserver } from './observer.js';
import { endOrphans } from './runners/index.js';
import { Scheduler } from './scheduler.js';
import { CommitBatch, Task } from './task.js';
import { Waker } from './waker.js';

export interface RunSettings {
  maxConcurrent: number;
  stopOnException: boolean;
  taskConstruct: TaskConstruct;
  envPrefix: string;
}

export interface LoopEnvironment {
  observer?: RunObserver | undefined;
  flow: FlowDefinition;
  store: RunStore;
  runId: string;
  recovery: number;
  settings: RunSettings;
  logger: ScopedLogger;
  clock: Clock;
}

export interface LoopOutcome {
  ok: boolean;
  status: 'success' | 'failure' | 'incomplete';
}

interface Parts {
  batch: CommitBatch;
  firing: Firing;
  scheduler: Scheduler;
  attempts: Attempts;
  lifecycle: Lifecycle;
}

/** Hand the event loop a turn after this long of back-to-back synchronous passes. */
const YIELD_EVERY_MS = 25;

/**
 * Drives one run: load it, then pass after pass (act on everything ready, commit, start what the
 * pass began), waiting in between for a step to end, a timer or a trigger, until nothing is left.
 * A pass's changes are committed before any step it begins is called, so a crash loses at most
 * the attempts that were running.
 */
export class RunLoop {
  private readonly env: LoopEnvironment;
  private readonly testClock: TestClock | undefined;
  private parts: Parts | undefined;
  private completions: Completion[] = [];
  private committed: Array<{ event: string; sequence: string }> = [];
  private staged = new Map<string, { event: string; sequence: string; source?: TriggerSource | undefined }>();
  private retryDue: Task[] = [];
  private stopReason: string | undefined;
  private failure: unknown;
  private readonly waker: Waker;
  /** Unfinished tasks of steps the flow no longer defines: the lowest `ord`, and how many. */
  private untrackedOpenOrd = Number.POSITIVE_INFINITY;
  private untrackedOpen = 0;
  private active = false;

  constructor(env: LoopEnvironment) {
    this.env = env;
    this.testClock = env.clock instanceof TestClock ? env.clock : undefined;
    this.waker = new Waker(env.clock);
  }

  get isActive(): boolean {
    return this.active;
  }

  /**
   * A trigger fired while this loop runs (by a running step's body, with its `source`, or from
   * outside): the next pass commits it, with the end of the step that fired it. Had the process
   * died first, that step would not have ended either, and would fire it again when it reruns.
   */
  stageTrigger(event: string, sequence: string, source?: TriggerSource): boolean {
    const key = keyOf(sequence, event);
    if (this.staged.has(key) || this.parts?.firing.hasFired(event, sequence)) return false;
    this.staged.set(key, { event, sequence, source });
    this.waker.wake();
    return true;
  }

  /** Aborts running steps; the loop records them failed and ends the run, recoverable. */
  stop(reason: string): void {
    this.stopReason ??= reason;
    if (this.parts) this.parts.lifecycle.stopping = true;
    this.parts?.attempts.abortAll(reason);
    this.waker.wake();
  }

  /** Ends the run with `error` (its lease was lost): running steps are aborted, nothing more is written. */
  abort(error: unknown): void {
    this.failure ??= error;
    this.parts?.attempts.abortAll('the run lost its lease');
    this.waker.wake();
  }

  async run(maxLoops: number): Promise<LoopOutcome> {
    this.active = true;
    const unsubscribe = this.subscribeToPools();
    try {
      await endOrphans(this.env.store, this.env.logger);
      const parts = await this.load();
      this.env.observer?.runStarted?.({
        runId: this.env.runId,
        recovery: this.env.recovery,
        steps: [...this.env.flow.steps.keys()],
      });
      await this.drive(parts, maxLoops);
      const { lifecycle, scheduler } = parts;
      if (
        scheduler.readyCount > 0 &&
        !lifecycle.stoppedByException &&
        this.stopReason === undefined &&
        maxLoops < 0
      ) {
        const waiting = scheduler
          .readyTasks()
          .slice(0, 5)
          .map((t) => `${t.step.name}[${t.sequence}]`);
        this.env.logger.warn(
          { waiting },
          `Run ended with ${scheduler.readyCount} task(s) waiting for resources no running step will release: ${waiting.join(', ')}`,
        );
      }
      const outcome = this.outcome(parts);
      const written = this.env.store.setOpenFrom(this.lowestOpenOrd(parts));
      if (written instanceof Promise) await written;
      this.env.observer?.runEnded?.(outcome);
      return outcome;
    } catch (error) {
      this.parts?.attempts.abortAll('the run ended with an error');
      throw error;
    } finally {
      unsubscribe();
      this.active = false;
    }
  }

  private async drive(parts: Parts, maxLoops: number): Promise<void> {
    const { firing, attempts, lifecycle } = parts;
    let loops = 0;
    let lastYield = now();
    for (;;) {
      if (maxLoops === 0) break;
      this.waker.reset();
      if (this.stopReason !== undefined) {
        // steps that ended before the stop keep their outcome; a pass starts nothing once stopping
        this.pass(parts);
        lifecycle.recordStopped(this.stopReason, this.retryDue.splice(0));
        await this.commit(parts);
        break;
      }
      this.pass(parts);
      await this.commit(parts);
      for (const task of lifecycle.takeLaunches()) attempts.launch(task);
      if (this.hasImmediateWork(parts)) {
        if (now() - lastYield > YIELD_EVERY_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = now();
        }
        continue;
      }
      if (attempts.running.size > 0 || attempts.backingOff.size > 0 || this.waitsForRoom(parts)) {
        if (this.testClock === undefined || !(await this.skipToNextTimer(parts, this.testClock)))
          await this.waker.wait();
        lastYield = now();
        continue;
      }
      loops += 1;
      if (maxLoops > 0 && loops >= maxLoops) break;
      if (lifecycle.stoppedByException) break;
      const dueAt = firing.nextDelayDue;
      if (dueAt === undefined) break;
      if (this.testClock !== undefined) {
        this.testClock.advanceTo(dueAt);
        if (now() - lastYield > YIELD_EVERY_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = now();
        }
        continue;
      }
      await this.waker.waitUntil(dueAt);
      lastYield = now();
    }
  }

  // ---- load -------------------------------------------------------------------------------------

  /** Reads the run once: unacted triggers, unfinished tasks, pending delays, earlier failures. */
  private async load(): Promise<Parts> {
    const { flow, store, logger, settings, recovery, clock } = this.env;
    const loaded = store.load();
    const snapshot = loaded instanceof Promise ? await loaded : loaded;
    const batch = new CommitBatch();
    const cap = settings.maxConcurrent < 1 ? Number.POSITIVE_INFINITY : settings.maxConcurrent;
    const scheduler = new Scheduler(cap);
    const attempts = new Attempts(
      { runId: this.env.runId, recovery, ...settings },
      scheduler,
      store,
      clock,
      logger,
      this.env.observer,
      (completion) => {
        this.completions.push(completion);
        this.waker.wake();
      },
      (task) => {
        this.retryDue.push(task);
        this.waker.wake();
      },
    );
    let lifecycle: Lifecycle | undefined;
    const firing = new Firing(flow, batch, logger, snapshot, (step, sequence) =>
      lifecycle?.createTask(step, sequence),
    );
    lifecycle = new Lifecycle({
      batch,
      firing,
      scheduler,
      attempts,
      snapshot,
      recovery,
      stopOnException: settings.stopOnException,
      logger,
      observer: this.env.observer,
    });
    lifecycle.stopping = this.stopReason !== undefined;
    this.committed.push(...snapshot.unacted);
    for (const row of snapshot.unfinished) {
      const step = flow.steps.get(row.step);
      if (!step) {
        this.untrackedOpenOrd = Math.min(this.untrackedOpenOrd, row.ord);
        this.untrackedOpen += 1;
        logger.warn(
          { step: row.step, sequence: row.sequence, status: row.status },
          `Task ${row.step}[${row.sequence}] was left ${row.status}, and the flow no longer defines step "${row.step}": ` +
            'it stays unfinished, so the run ends incomplete. Define the step again and continue, or recover the run.',
        );
        continue;
      }
      const task = Task.loaded(step, row, batch);
      if (row.status !== 'ready') task.ready();
      scheduler.enqueue(task);
    }
    for (const failed of snapshot.failed) lifecycle.failedEarlier(failed, flow.steps.get(failed.step));
    this.parts = { batch, firing, scheduler, attempts, lifecycle };
    return this.parts;
  }

  // ---- one pass ---------------------------------------------------------------------------------

  /** Acts on everything that happened since the last pass; the changes wait in the batch. */
  private pass(parts: Parts): void {
    const { firing, lifecycle, scheduler } = parts;
    firing.now = this.env.clock.now();
    const completions = this.completions;
    this.completions = [];
    for (const completion of completions) lifecycle.complete(completion);
    const committed = this.committed;
    this.committed = [];
    for (const trigger of committed) firing.actOnCommitted(trigger.event, trigger.sequence);
    if (this.staged.size > 0) {
      const staged = this.staged;
      this.staged = new Map();
      for (const trigger of staged.values()) firing.fire(trigger.event, trigger.sequence, trigger.source);
    }
    const retryDue = this.retryDue;
    this.retryDue = [];
    for (const task of retryDue) lifecycle.retry(task);
    firing.fireDueDelays(firing.now);
    const begin = (task: Task) => lifecycle.begin(task);
    do {
      firing.propagate();
      if (!lifecycle.stoppedByException && this.stopReason === undefined) scheduler.startReady(begin);
    } while (firing.hasQueued);
  }

  private async commit(parts: Parts): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (parts.batch.isEmpty) return;
    const written = this.env.store.commit(parts.batch.take(parts.firing.now));
    if (written instanceof Promise) await written;
  }

  // ---- wait -------------------------------------------------------------------------------------

  private hasImmediateWork(parts: Parts): boolean {
    if (
      this.completions.length > 0 ||
      this.committed.length > 0 ||
      this.staged.size > 0 ||
      this.retryDue.length > 0
    )
      return true;
    const dueAt = parts.firing.nextDelayDue;
    return dueAt !== undefined && dueAt <= this.env.clock.now();
  }

  /**
   * Under a TestClock, while a pass waits: jumps the clock to the earliest timeout or backoff and
   * fires it. Running steps that all have a timeout first get the clock's `settleMs` of real time to
   * end: a step still running then is taken to wait on time (or never to end). False when the loop
   * must wait for real instead.
   */
  private async skipToNextTimer(parts: Parts, clock: TestClock): Promise<boolean> {
    if (this.nextTimerDue(parts) === undefined) return false;
    if (parts.attempts.running.size > 0 && (await this.waker.waitWithin(clock.settleMs))) return true;
    const dueAt = this.nextTimerDue(parts);
    if (dueAt === undefined) return false;
    clock.advanceTo(dueAt);
    return true;
  }

  /** The earliest timeout or backoff; undefined while a pool held by another eventor must come back for real. */
  private nextTimerDue(parts: Parts): number | undefined {
    if (!parts.lifecycle.stoppedByException && parts.scheduler.waitsOnBusyPool()) return undefined;
    return parts.attempts.nextTimerDue();
  }

  /** Tasks wait for a pool held elsewhere, or for a cap that a timed-out body still running holds. */
  private waitsForRoom(parts: Parts): boolean {
    const { scheduler, lifecycle } = parts;
    if (lifecycle.stoppedByException || scheduler.readyCount === 0) return false;
    return scheduler.hasOverdue || scheduler.waitsOnBusyPool();
  }

  private subscribeToPools(): () => void {
    const pools = new Set<ResourcePool>();
    for (const step of this.env.flow.steps.values()) for (const [pool] of step.acquires) pools.add(pool);
    const unsubscribers = [...pools].map((pool) => pool.onRelease(() => this.waker.wake()));
    return () => {
      for (const unsubscribe of unsubscribers) unsubscribe();
    };
  }

  // ---- outcome ----------------------------------------------------------------------------------

  /** Every task of the run below this `ord` is finished; pending() reads from it on. */
  private lowestOpenOrd(parts: Parts): number {
    const { attempts, scheduler, lifecycle } = parts;
    let lowest = Math.min(this.untrackedOpenOrd, lifecycle.peekOrd);
    const open = [...attempts.running, ...attempts.backingOff, ...this.retryDue, ...scheduler.readyTasks()];
    for (const task of open) lowest = Math.min(lowest, task.ord);
    return lowest;
  }

  private outcome(parts: Parts): LoopOutcome {
    const { attempts, scheduler, lifecycle, firing } = parts;
    const ok = lifecycle.unhandled.length === 0 && this.stopReason === undefined;
    if (!ok) return { ok, status: 'failure' };
    const pending =
      scheduler.readyCount > 0 ||
      attempts.running.size > 0 ||
      attempts.backingOff.size > 0 ||
      firing.pendingDelays > 0 ||
      this.committed.length > 0 ||
      this.untrackedOpen > 0;
    return { ok, status: pending ? 'incomplete' : 'success' };
  }
}
