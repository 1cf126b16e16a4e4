import { describeThrown, FlowError, StepFailedError, serializeError } from '../errors.js';
import type { ScopedLogger } from '../logger.js';
import { evaluateExpr } from '../model/expression.js';
import type { AssocDef, FlowDefinition } from '../model/flow.js';
import type { ResourcePool } from '../model/resource-pool.js';
import type { TaskStatus } from '../model/status.js';
import type { StepDef, TaskConstruct } from '../model/step.js';
import { encodeResult } from '../store/result-codec.js';
import type { Store, TaskKey, TriggerSource } from '../store/store.js';
import { type Clock, type ClockTimer, now, sleepUntil, TestClock } from './clock.js';
import type { StepContext } from './context.js';
import { DelayQueue } from './delay-queue.js';
import type { RunObserver } from './observer.js';
import { ResourceLedger } from './resources.js';
import {
  type ChildIdentity,
  cannotSucceedLater,
  encodeChild,
  endOrphans,
  type StepInvocation,
  type StepRunner,
  selectRunner,
} from './runners/index.js';

export interface LoopSettings {
  maxConcurrent: number;
  stopOnException: boolean;
  taskConstruct: TaskConstruct;
  envPrefix: string;
}

export interface LoopEnvironment {
  observer?: RunObserver | undefined;
  flow: FlowDefinition;
  store: Store;
  runId: string;
  recovery: number;
  settings: LoopSettings;
  logger: ScopedLogger;
  clock: Clock;
}

export interface LoopOutcome {
  ok: boolean;
  status: 'success' | 'failure' | 'incomplete';
}

interface TaskState {
  /** Written to the store (by an earlier pass, or loaded from it). */
  persisted: boolean;
  ord: number;
  step: StepDef;
  sequence: string;
  status: TaskStatus;
  attempts: number;
  /** Status changed in this pass and not yet written. */
  dirty: boolean;
  skipped: boolean;
  /** The result as the store keeps it (see store/result-codec.ts). */
  result: Buffer | null;
  context: TaskContext | undefined;
  /** The attempt's timeout while it runs, its backoff while it waits to retry. */
  timer: ClockTimer | undefined;
}

interface Completion {
  task: TaskState;
  /** The attempt it ends; a late end of an attempt that timed out is ignored. */
  attempt: number;
  ok: boolean;
  value?: unknown;
  error?: unknown;
}

interface FiredTrigger {
  event: string;
  sequence: string;
  /** The step whose body fired it, if a step did. */
  source?: TriggerSource | undefined;
}

/** Hand the event loop a turn after this long of back-to-back synchronous passes. */
const YIELD_EVERY_MS = 25;
/**
 * Drives one run: fired triggers -> tasks -> results. Each pass is one transaction: the state it
 * changes is committed before any step it starts is called, so a crash loses at most running steps.
 */
export class RunLoop {
  private readonly flow: FlowDefinition;
  private readonly store: Store;
  private readonly runId: string;
  private readonly recovery: number;
  private readonly settings: LoopSettings;
  private readonly logger: ScopedLogger;
  private readonly globalCap: number;
  private readonly observer: RunObserver | undefined;
  private readonly clock: Clock;
  /** Set when time is virtual: the loop then jumps the clock instead of waiting. */
  private readonly testClock: TestClock | undefined;

  private readyQueue: Array<TaskState | undefined> = [];
  private readyHead = 0;
  private readyCount = 0;
  private readonly running = new Set<TaskState>();
  private readonly resources = new ResourceLedger();
  /** Tasks waiting out a retry backoff; each has a timer that re-queues it. */
  private readonly backingOff = new Set<TaskState>();
  private retryDue: TaskState[] = [];
  private readonly runningPerStep = new Map<string, number>();
  /**
   * Bodies of attempts with a timeout that have not settled, true once the attempt timed out: an
   * inline step cannot be killed, so a timed-out body still running holds its place under the caps.
   */
  private readonly openBodies = new Map<TaskContext, boolean>();
  private overdueCount = 0;
  private readonly overduePerStep = new Map<string, number>();
  private completions: Completion[] = [];
  private externalTriggers: FiredTrigger[] = [];
  private stagedTriggers = new Map<string, FiredTrigger>();
  private triggerQueue: FiredTrigger[] = [];
  private readonly delays = new DelayQueue();
  private readonly stagedTasks = new Map<string, TaskState>();
  private dirtyTasks: TaskState[] = [];
  private toLaunch: TaskState[] = [];
  private readonly unhandled: Array<{ step: string; sequence: string }> = [];
  private stoppedByException = false;
  private stopReason: string | undefined;
  private wakeup: (() => void) | undefined;
  private passTime = 0;
  private readonly runners = new Map<string, StepRunner | undefined>();
  /** The lowest `ord` of an unfinished task this loop does not hold (its step is no longer defined). */
  private untrackedOpenOrd = Number.POSITIVE_INFINITY;
  /** How many such tasks there are: they keep the run from ending success. */
  private untrackedOpen = 0;
  private active = false;

  constructor(env: LoopEnvironment) {
    this.flow = env.flow;
    this.store = env.store;
    this.runId = env.runId;
    this.recovery = env.recovery;
    this.settings = env.settings;
    this.logger = env.logger;
    this.observer = env.observer;
    this.clock = env.clock;
    this.testClock = env.clock instanceof TestClock ? env.clock : undefined;
    this.globalCap = env.settings.maxConcurrent < 1 ? Number.POSITIVE_INFINITY : env.settings.maxConcurrent;
  }

  get isActive(): boolean {
    return this.active;
  }

  /**
   * `triggerEvent` called by a running step of this run: the trigger is written by the next pass,
   * in the same transaction as that step's end. Had the process died first, the step would not have
   * ended either, and would fire it again when it reruns.
   */
  stageTrigger(event: string, sequence: string, source: TriggerSource): boolean {
    const key = JSON.stringify([sequence, event]);
    if (this.stagedTriggers.has(key) || this.store.hasFired(this.runId, this.recovery, event, sequence))
      return false;
    this.stagedTriggers.set(key, { event, sequence, source });
    this.wake();
    return true;
  }

  /** A trigger committed by `triggerEvent` while this loop runs. */
  notifyTrigger(event: string, sequence: string): void {
    this.externalTriggers.push({ event, sequence });
    this.wake();
  }

  /** Aborts running steps; the loop records them failed and ends the run, recoverable. */
  stop(reason: string): void {
    this.stopReason ??= reason;
    for (const task of this.running)
      task.context?.abort(new FlowError(`Stopped: ${reason}`, { code: 'FLOW_STOPPED' }));
    this.wake();
  }

  async run(maxLoops: number): Promise<LoopOutcome> {
    this.active = true;
    const unsubscribe = this.subscribeToPools();
    try {
      const orphans = endOrphans(this.store, this.runId, this.logger);
      if (orphans !== undefined) {
        await orphans;
        this.externalTriggers = []; // load() reads them from the store, with any fired meanwhile
      }
      this.load();
      this.observer?.runStarted?.({
        runId: this.runId,
        recovery: this.recovery,
        steps: [...this.flow.steps.keys()],
      });
      let loops = 0;
      let lastYield = now();
      for (;;) {
        if (maxLoops === 0) break;
        if (this.stopReason !== undefined) {
          // steps that ended before the stop keep their outcome; a pass starts nothing once stopping
          this.store.transaction(() => {
            this.pass();
            this.recordStopped();
          });
          break;
        }
        const launch = this.store.transaction(() => this.pass());
        for (const task of launch) this.launch(task);
        if (this.hasImmediateWork()) {
          if (now() - lastYield > YIELD_EVERY_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            lastYield = now();
          }
          continue;
        }
        if (this.running.size > 0 || this.backingOff.size > 0 || this.waitsForRoom()) {
          if (this.testClock === undefined || !(await this.skipToNextTimer(this.testClock))) {
            await this.waitForWake();
          }
          lastYield = now();
          continue;
        }
        loops += 1;
        if (maxLoops > 0 && loops >= maxLoops) break;
        if (this.stoppedByException) break;
        const next = this.delays.peek();
        if (next === undefined) break;
        if (this.testClock !== undefined) {
          this.testClock.advanceTo(next.dueAt);
          if (now() - lastYield > YIELD_EVERY_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            lastYield = now();
          }
          continue;
        }
        await sleepUntil(this.clock, next.dueAt, (wake) => {
          this.wakeup = wake;
        });
        this.wakeup = undefined;
        lastYield = now();
      }
      if (this.readyCount > 0 && !this.stoppedByException && this.stopReason === undefined && maxLoops < 0) {
        const waiting = this.readyTasks()
          .slice(0, 5)
          .map((t) => `${t.step.name}[${t.sequence}]`);
        this.logger.warn(
          { waiting },
          `Run ended with ${this.readyCount} task(s) waiting for resources no running step will release: ${waiting.join(', ')}`,
        );
      }
      const outcome = this.outcome();
      this.store.setOpenFrom(this.runId, this.lowestOpenOrd());
      this.observer?.runEnded?.(outcome);
      return outcome;
    } finally {
      unsubscribe();
      this.active = false;
    }
  }

  // ---- loading ----------------------------------------------------------------------------------

  /** Rebuilds in-memory work from the store: unacted triggers, unfinished tasks, pending delays. */
  private load(): void {
    const { store, runId, recovery } = this;
    for (const trigger of store.unactedTriggers(runId, recovery)) this.externalTriggers.push(trigger);
    for (const row of store.unfinishedTasks(runId, recovery)) {
      const step = this.flow.steps.get(row.step);
      if (!step) {
        this.untrackedOpenOrd = Math.min(this.untrackedOpenOrd, row.ord);
        this.untrackedOpen += 1;
        this.logger.warn(
          { step: row.step, sequence: row.sequence, status: row.status },
          `Task ${row.step}[${row.sequence}] was left ${row.status}, and the flow no longer defines step "${row.step}": ` +
            'it stays unfinished, so the run ends incomplete. Define the step again and continue, or recover the run.',
        );
        continue;
      }
      const task = this.newTaskState(step, row.sequence);
      task.persisted = true;
      task.ord = row.ord;
      task.attempts = row.attempts;
      task.dirty = row.status !== 'ready';
      if (task.dirty) this.dirtyTasks.push(task);
      this.enqueueReady(task);
    }
    for (const row of store.pendingDelays(runId, recovery)) {
      const assoc = this.flow.assocByKey(row.assoc);
      if (!assoc) {
        // nothing in the program can act on it any more, so it is closed rather than left pending
        this.logger.warn(
          { assoc: row.assoc, sequence: row.sequence },
          `A pending delay of assoc ${row.assoc} in sequence ${row.sequence} is dropped: the flow no longer defines that assoc`,
        );
        store.markDelayFired(row.id);
        continue;
      }
      this.delays.push({ id: row.id, assoc, sequence: row.sequence, dueAt: row.dueAt });
    }
    for (const failed of store.failedTasks(runId, recovery)) {
      const step = this.flow.steps.get(failed.step);
      if (step?.handlesFailure) continue;
      this.unhandled.push(failed);
      if (!step || this.stopsOnException(step)) this.stoppedByException = true;
    }
  }

  // ---- one pass ---------------------------------------------------------------------------------

  /** Acts on everything ready now; returns the tasks to start once the pass is committed. */
  private pass(): TaskState[] {
    this.passTime = this.clock.now();
    const completions = this.completions;
    this.completions = [];
    for (const completion of completions) this.complete(completion);

    const external = this.externalTriggers;
    this.externalTriggers = [];
    for (const trigger of external) {
      this.store.markTriggerActed(this.runId, this.recovery, trigger.event, trigger.sequence);
      this.onFired(trigger.event, trigger.sequence);
    }

    if (this.stagedTriggers.size > 0) {
      const staged = this.stagedTriggers;
      this.stagedTriggers = new Map();
      for (const trigger of staged.values()) this.fire(trigger.event, trigger.sequence, trigger.source);
    }

    const retryDue = this.retryDue;
    this.retryDue = [];
    for (const task of retryDue) this.enqueueReady(task);

    for (const delay of this.delays.takeDue(this.passTime)) {
      this.store.markDelayFired(delay.id);
      this.actOnTargets(delay.assoc, delay.sequence);
    }

    do {
      for (let i = 0; i < this.triggerQueue.length; i++)
        this.actOnTrigger(this.triggerQueue[i] as FiredTrigger);
      this.triggerQueue = [];
      this.startReady();
    } while (this.triggerQueue.length > 0);

    this.flush();
    const launch = this.toLaunch;
    this.toLaunch = [];
    return launch;
  }

  private actOnTrigger(trigger: FiredTrigger): void {
    for (const assoc of this.flow.assocsOf(trigger.event)) {
      if (assoc.delayMs > 0) this.scheduleDelay(assoc, trigger.sequence);
      else this.actOnTargets(assoc, trigger.sequence);
    }
  }

  private actOnTargets(assoc: AssocDef, sequence: string): void {
    for (const target of assoc.targets) {
      if (target.kind === 'event') this.fire(target.name, sequence);
      else this.createTask(this.flow.requireStep(target.name, assoc.event), sequence);
    }
  }

  private scheduleDelay(assoc: AssocDef, sequence: string): void {
    const dueAt =
      this.store.earlierDelayDue(this.runId, assoc.key, sequence) ?? this.passTime + assoc.delayMs;
    const id = this.store.insertDelay(this.runId, this.recovery, assoc.key, sequence, dueAt, this.passTime);
    if (id === undefined) return;
    if (dueAt <= this.passTime) {
      this.store.markDelayFired(id);
      this.actOnTargets(assoc, sequence);
    } else {
      this.delays.push({ id, assoc, sequence, dueAt });
    }
  }

  /** Fires `event` in `sequence` unless it already fired there in this recovery. */
  private fire(event: string, sequence: string, source?: TriggerSource): void {
    if (!this.store.insertTrigger(this.runId, this.recovery, event, sequence, true, this.passTime, source))
      return;
    this.onFired(event, sequence);
  }

  private onFired(event: string, sequence: string): void {
    if (this.logger.enabled('debug'))
      this.logger.debug({ event, sequence }, `Event ${event}[${sequence}] fired`);
    this.triggerQueue.push({ event, sequence });
    const dependents = this.flow.dependentsOf(event);
    if (dependents.length === 0) return;
    const fired = (name: string) => this.store.hasFired(this.runId, this.recovery, name, sequence);
    for (const dependent of dependents) {
      if (dependent.expr && evaluateExpr(dependent.expr, fired)) this.fire(dependent.name, sequence);
    }
  }

  private fireAll(events: readonly string[], sequence: string): void {
    for (const event of events) this.fire(event, sequence);
  }

  // ---- tasks ------------------------------------------------------------------------------------

  private newTaskState(step: StepDef, sequence: string): TaskState {
    return {
      persisted: false,
      ord: 0,
      step,
      sequence,
      status: 'ready',
      attempts: 0,
      dirty: true,
      skipped: false,
      result: null,
      context: undefined,
      timer: undefined,
    };
  }

  private createTask(step: StepDef, sequence: string): void {
    const key = JSON.stringify([step.name, sequence]);
    if (this.stagedTasks.has(key)) return;
    if (this.store.taskExists(this.runId, this.recovery, step.name, sequence)) return;
    const task = this.newTaskState(step, sequence);
    task.ord = this.store.nextTaskOrd(this.runId);
    this.stagedTasks.set(key, task);
    this.dirtyTasks.push(task);

    if (this.recovery > 0 && this.replaySkips(task)) return;
    this.fireAll(step.triggers.ready, sequence);
    this.enqueueReady(task);
  }

  /** In a recovery, applies the step's policy to its latest earlier attempt; true if skipped. */
  private replaySkips(task: TaskState): boolean {
    const earlier = this.store.latestEarlierTask(this.runId, task.step.name, task.sequence, this.recovery);
    if (!earlier) return false;
    const status = earlier.status === 'allocate' || earlier.status === 'fueled' ? 'ready' : earlier.status;
    if (task.step.recovery[status] !== 'skip') {
      // an attempt cut short by a crash or stop counts: retries go on from there instead of starting over
      if (status !== 'failure' && status !== 'success') task.attempts = earlier.attempts;
      return false;
    }
    task.skipped = true;
    task.attempts = earlier.attempts;
    task.status = 'success';
    if (earlier.status === 'success') task.result = earlier.result;
    if (this.logger.enabled('info')) {
      this.logger.info(
        { step: task.step.name, sequence: task.sequence, previous: earlier.status },
        `Skipping step ${task.step.name}[${task.sequence}]: its earlier attempt ended ${earlier.status}`,
      );
    }
    if (task.step.releasesGiven) this.resources.releaseAll(task.step.releases);
    this.observer?.taskEnded?.({
      step: task.step.name,
      sequence: task.sequence,
      status: 'success',
      skipped: true,
    });
    // it went through ready and active in the run it is skipped from: what those started must start again
    this.fireAll(task.step.triggers.ready, task.sequence);
    this.fireAll(task.step.triggers.active, task.sequence);
    this.fireAll(task.step.triggers.success, task.sequence);
    // and what its body fired with triggerEvent, since the body does not run again
    const source = { step: task.step.name, sequence: task.sequence };
    for (const fired of this.store.triggersFiredBy(this.runId, source, earlier.recovery)) {
      this.fire(fired.event, fired.sequence, source);
    }
    return true;
  }

  private enqueueReady(task: TaskState): void {
    this.readyQueue.push(task);
    this.readyCount += 1;
  }

  private readyTasks(): TaskState[] {
    return this.readyQueue.slice(this.readyHead).filter((task): task is TaskState => task !== undefined);
  }

  /** Starts ready tasks in the order they became ready, within caps and pools. */
  private startReady(): void {
    // a step that ends within the scan (a no-op) may release what a task earlier in the queue waits for
    let releases: number;
    do {
      releases = this.resources.releases;
      this.scanReady();
    } while (this.resources.releases !== releases && this.readyCount > 0);
  }

  private scanReady(): void {
    if (this.readyCount === 0 || this.stoppedByException || this.stopReason !== undefined) return;
    let blockedPools: Set<ResourcePool> | undefined;
    const queue = this.readyQueue;
    for (let i = this.readyHead; i < queue.length; i++) {
      if (this.running.size + this.overdueCount >= this.globalCap) break;
      const task = queue[i];
      if (task === undefined) continue;
      const step = task.step;
      if (
        step.config.maxConcurrent > 0 &&
        (this.runningPerStep.get(step.name) ?? 0) + (this.overduePerStep.get(step.name) ?? 0) >=
          step.config.maxConcurrent
      ) {
        continue;
      }
      if (step.acquires.length > 0) {
        const blocked = blockedPools !== undefined && step.acquires.some(([pool]) => blockedPools?.has(pool));
        if (blocked || !this.resources.tryAcquireAll(step.acquires)) {
          blockedPools ??= new Set();
          for (const [pool] of step.acquires) blockedPools.add(pool);
          if (task.status !== 'allocate') this.setStatus(task, 'allocate');
          continue;
        }
      }
      queue[i] = undefined;
      this.readyCount -= 1;
      this.begin(task);
    }
    while (this.readyHead < queue.length && queue[this.readyHead] === undefined) this.readyHead++;
    if (this.readyHead > 1024 && this.readyHead * 2 > queue.length) {
      this.readyQueue = queue.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  private begin(task: TaskState): void {
    const step = task.step;
    task.attempts += 1;
    this.setStatus(task, 'active');
    this.fireAll(step.triggers.active, task.sequence);
    if (step.kind === 'noop') {
      this.finish(task, 'success', null, undefined);
      return;
    }
    this.running.add(task);
    this.runningPerStep.set(step.name, (this.runningPerStep.get(step.name) ?? 0) + 1);
    this.toLaunch.push(task);
  }

  private setStatus(task: TaskState, status: TaskStatus): void {
    task.status = status;
    if (!task.dirty) {
      task.dirty = true;
      this.dirtyTasks.push(task);
    }
  }

  /** Writes the tasks this pass created or moved; inserts carry their latest status. */
  private flush(): void {
    for (const task of this.dirtyTasks) {
      if (!task.dirty) continue;
      task.dirty = false;
      if (!task.persisted) {
        task.persisted = true;
        this.store.insertTask({
          runId: this.runId,
          recovery: this.recovery,
          step: task.step.name,
          sequence: task.sequence,
          ord: task.ord,
          status: task.status,
          attempts: task.attempts,
          result: task.result,
          skipped: task.skipped,
          now: this.passTime,
        });
      } else {
        this.store.updateTaskStatus(this.keyOf(task), task.status, task.attempts, this.passTime);
      }
    }
    this.dirtyTasks = [];
    this.stagedTasks.clear();
  }

  // ---- running steps ----------------------------------------------------------------------------

  private runnerFor(step: StepDef): StepRunner | undefined {
    if (this.runners.has(step.name)) return this.runners.get(step.name);
    const runner = selectRunner(step, step.config.taskConstruct ?? this.settings.taskConstruct, {
      maxConcurrent: this.settings.maxConcurrent,
    });
    this.runners.set(step.name, runner);
    return runner;
  }

  private launch(task: TaskState): void {
    const context = new TaskContext(task, this.runId, this.recovery, this.logger, this.clock);
    const attempt = task.attempts;
    task.context = context;
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
      out = runner(
        new Invocation(
          task.step,
          context,
          this.stepEnv(task),
          this.testClock?.now(),
          this.store,
          this.keyOf(task),
        ),
      );
    } catch (error) {
      this.completions.push({ task, attempt, ok: false, error });
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
      this.completions.push({ task, attempt, ok: false, error });
      return;
    }
    this.completions.push({ task, attempt, ok: true, value: out });
  }

  /** Aborts the attempt's signal and fails it now; whatever the step does later is ignored. */
  private timedOut(task: TaskState, attempt: number, timeoutMs: number): void {
    const context = task.context;
    if (attempt === task.attempts && context !== undefined && this.openBodies.get(context) === false) {
      this.openBodies.set(context, true);
      this.overdueCount += 1;
      this.overduePerStep.set(task.step.name, (this.overduePerStep.get(task.step.name) ?? 0) + 1);
    }
    const error = new StepFailedError(
      task.step.name,
      task.sequence,
      `timed out after ${formatMs(timeoutMs)}`,
      {
        code: 'FLOW_STEP_TIMEOUT',
      },
    );
    task.context?.abort(error);
    this.settled({ task, attempt, ok: false, error });
  }

  private stepEnv(task: TaskState): Record<string, string> {
    if (task.step.kind === 'function') return EMPTY_ENV;
    const prefix = this.settings.envPrefix;
    return {
      [`${prefix}STEP_NAME`]: task.step.name,
      [`${prefix}STEP_SEQUENCE`]: task.sequence,
      [`${prefix}STEP_RECOVERY`]: String(this.recovery),
      [`${prefix}RUN_ID`]: this.runId,
      [`${prefix}NOW`]: String(this.clock.now()),
    };
  }

  /** An attempt's body settled: one that had timed out gives its place under the caps back now. */
  private bodyEnded(context: TaskContext, completion: Completion): void {
    if (this.openBodies.get(context) === true) {
      const step = completion.task.step.name;
      this.overdueCount -= 1;
      this.overduePerStep.set(step, (this.overduePerStep.get(step) ?? 1) - 1);
    }
    this.openBodies.delete(context);
    this.settled(completion);
  }

  private settled(completion: Completion): void {
    this.completions.push(completion);
    this.wake();
  }

  private complete(completion: Completion): void {
    const task = completion.task;
    if (completion.attempt !== task.attempts || task.status !== 'active' || !this.running.has(task)) return;
    task.timer?.cancel();
    task.timer = undefined;
    this.running.delete(task);
    this.runningPerStep.set(task.step.name, (this.runningPerStep.get(task.step.name) ?? 1) - 1);
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

  /** A failed attempt: retry after the backoff while attempts remain, else the task fails. */
  private failAttempt(task: TaskState, error: StepFailedError): void {
    const { retries, backoffMs } = task.step.config;
    if (task.attempts > retries || this.stopReason !== undefined || cannotSucceedLater(error)) {
      this.finish(task, 'failure', null, error);
      return;
    }
    const waitMs = backoffMs * 2 ** (task.attempts - 1);
    this.resources.releaseAll(task.step.releases);
    task.status = 'ready';
    task.dirty = false;
    this.store.finishTask(
      this.keyOf(task),
      'ready',
      task.attempts,
      null,
      JSON.stringify(serializeError(error)),
      this.passTime,
    );
    this.logger.warn(
      { step: task.step.name, sequence: task.sequence, attempt: task.attempts, retryInMs: waitMs },
      `${error.message} (attempt ${task.attempts} of ${retries + 1}); retrying in ${formatMs(waitMs)}`,
    );
    this.backingOff.add(task);
    task.timer = this.clock.at(this.passTime + waitMs, () => {
      task.timer = undefined;
      if (!this.backingOff.delete(task)) return;
      this.retryDue.push(task);
      this.wake();
    });
  }

  /** Records a task's end, releases its resources and fires its triggers (all in this pass). */
  private finish(
    task: TaskState,
    status: 'success' | 'failure',
    result: Buffer | null,
    error: StepFailedError | undefined,
  ) {
    const step = task.step;
    task.status = status;
    task.result = result;
    this.observer?.taskEnded?.({ step: step.name, sequence: task.sequence, status, skipped: false });
    this.resources.releaseAll(step.releases);
    if (!task.persisted) {
      task.dirty = true; // inserted by flush with this final status
    } else {
      task.dirty = false;
      const errorJson = error ? JSON.stringify(serializeError(error)) : null;
      this.store.finishTask(this.keyOf(task), status, task.attempts, result, errorJson, this.passTime);
    }
    if (status === 'success') {
      if (this.logger.enabled('info')) {
        this.logger.info(
          { step: step.name, sequence: task.sequence },
          `Step ${step.name}[${task.sequence}] succeeded`,
        );
      }
      this.fireAll(step.triggers.success, task.sequence);
      return;
    }
    this.logger.error(
      { step: step.name, sequence: task.sequence, err: error, handled: step.handlesFailure },
      error?.message ?? `Step ${step.name}[${task.sequence}] failed`,
    );
    this.fireAll(step.triggers.failure, task.sequence);
    if (!step.handlesFailure) {
      this.unhandled.push({ step: step.name, sequence: task.sequence });
      if (this.stopsOnException(step)) this.stoppedByException = true;
    }
  }

  private keyOf(task: TaskState): TaskKey {
    return { runId: this.runId, ord: task.ord };
  }

  private stopsOnException(step: StepDef): boolean {
    return step.config.stopOnException ?? this.settings.stopOnException;
  }

  /** After stop(): running tasks are recorded failed with the reason; no triggers fire. */
  private recordStopped(): void {
    this.passTime = this.clock.now();
    const stopping = [...this.running, ...this.backingOff, ...this.retryDue];
    for (const task of stopping) {
      task.timer?.cancel();
      const error = new StepFailedError(task.step.name, task.sequence, `stopped: ${this.stopReason}`, {
        code: 'FLOW_STEP_STOPPED',
      });
      // a task backing off released its resources when its attempt failed
      if (this.running.has(task)) this.resources.releaseAll(task.step.releases);
      task.status = 'failure';
      if (task.persisted) {
        this.store.finishTask(
          this.keyOf(task),
          'failure',
          task.attempts,
          null,
          JSON.stringify(serializeError(error)),
          this.passTime,
        );
      }
      this.logger.warn({ step: task.step.name, sequence: task.sequence }, error.message);
    }
    this.running.clear();
    this.backingOff.clear();
    this.retryDue = [];
    this.runningPerStep.clear();
  }

  // ---- waiting ----------------------------------------------------------------------------------

  private hasImmediateWork(): boolean {
    if (
      this.completions.length > 0 ||
      this.externalTriggers.length > 0 ||
      this.stagedTriggers.size > 0 ||
      this.retryDue.length > 0
    ) {
      return true;
    }
    const next = this.delays.peek();
    return next !== undefined && next.dueAt <= this.clock.now();
  }

  /**
   * Under a TestClock, while a pass waits: jumps the clock to the earliest timeout or backoff and
   * fires it. Running steps that all have a timeout first get the clock's `settleMs` of real time to
   * end: a step still running then is taken to wait on time (or never to end). False
   * when the loop must wait for real instead.
   */
  private async skipToNextTimer(clock: TestClock): Promise<boolean> {
    if (this.nextTimerDue() === undefined) return false;
    if (this.running.size > 0 && (await this.waitForWakeWithin(clock.settleMs))) return true;
    const dueAt = this.nextTimerDue();
    if (dueAt === undefined) return false;
    clock.advanceTo(dueAt);
    return true;
  }

  /**
   * The earliest timeout or backoff of this run, or undefined while the clock must not jump: a
   * running step with no timeout can only end for real, and a pool held by another eventor is given
   * back in real time.
   */
  private nextTimerDue(): number | undefined {
    if (this.waitsOnBusyPool()) return undefined;
    let dueAt = Number.POSITIVE_INFINITY;
    for (const task of this.running) {
      if (task.timer === undefined) return undefined;
      dueAt = Math.min(dueAt, task.timer.dueAt);
    }
    for (const task of this.backingOff)
      if (task.timer !== undefined) dueAt = Math.min(dueAt, task.timer.dueAt);
    return dueAt === Number.POSITIVE_INFINITY ? undefined : dueAt;
  }

  /** Tasks wait on a pool that something outside this run (another eventor) holds and will give back. */
  private waitsOnBusyPool(): boolean {
    if (this.readyCount === 0 || this.stoppedByException) return false;
    return this.readyTasks().some((task) =>
      task.step.acquires.some(([pool]) => this.resources.heldElsewhere(pool)),
    );
  }

  /** Tasks wait for a pool held elsewhere, or for a cap that a timed-out body still running holds. */
  private waitsForRoom(): boolean {
    if (this.overdueCount > 0 && this.readyCount > 0 && !this.stoppedByException) return true;
    return this.waitsOnBusyPool();
  }

  private waitForWake(): Promise<void> {
    return new Promise((resolve) => {
      this.wakeup = resolve;
    });
  }

  /** Resolves true on the next wake(), or false after `realMs` of real time. */
  private waitForWakeWithin(realMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeup = undefined;
        resolve(false);
      }, realMs);
      this.wakeup = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private wake(): void {
    const wakeup = this.wakeup;
    this.wakeup = undefined;
    wakeup?.();
  }

  private subscribeToPools(): () => void {
    const pools = new Set<ResourcePool>();
    for (const step of this.flow.steps.values()) for (const [pool] of step.acquires) pools.add(pool);
    const unsubscribers = [...pools].map((pool) => pool.onRelease(() => this.wake()));
    return () => {
      for (const unsubscribe of unsubscribers) unsubscribe();
    };
  }

  /** Every task of the run below this `ord` is finished; pending() reads from it on. */
  private lowestOpenOrd(): number {
    let lowest = Math.min(this.untrackedOpenOrd, this.store.peekTaskOrd(this.runId));
    const open = [...this.running, ...this.backingOff, ...this.retryDue, ...this.readyTasks()];
    for (const task of open) lowest = Math.min(lowest, task.ord);
    return lowest;
  }

  private outcome(): LoopOutcome {
    const ok = this.unhandled.length === 0 && this.stopReason === undefined;
    if (!ok) return { ok, status: 'failure' };
    const pending =
      this.readyCount > 0 ||
      this.running.size > 0 ||
      this.backingOff.size > 0 ||
      this.delays.size > 0 ||
      this.externalTriggers.length > 0 ||
      this.untrackedOpen > 0;
    return { ok, status: pending ? 'incomplete' : 'success' };
  }
}

const EMPTY_ENV: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** What a runner receives; the step's logger is made only if the runner asks for it. */
class Invocation implements StepInvocation {
  constructor(
    readonly step: StepDef,
    readonly context: TaskContext,
    readonly env: Record<string, string>,
    readonly virtualNow: number | undefined,
    private readonly store: Store,
    private readonly key: TaskKey,
  ) {}
  get logger(): ScopedLogger {
    return this.context.log;
  }
  recordChild(child: ChildIdentity): void {
    this.store.setTaskChild(this.key, encodeChild(child));
  }
  forgetChild(pid: number): void {
    this.store.clearTaskChild(this.key, pid);
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
  private readonly parentLogger: ScopedLogger;
  private readonly clock: Clock;

  constructor(task: TaskState, runId: string, recovery: number, logger: ScopedLogger, clock: Clock) {
    this.name = task.step.name;
    this.sequence = task.sequence;
    this.recovery = recovery;
    this.runId = runId;
    this.attempt = task.attempts;
    this.parentLogger = logger;
    this.clock = clock;
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

/** The engine's own failure of this step (a timeout), told apart safely from whatever a step threw. */
function isOwnFailure(value: unknown, step: string): value is StepFailedError {
  try {
    return value instanceof StepFailedError && value.step === step;
  } catch {
    return false;
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
