import { randomBytes } from 'node:crypto';
import { basename, extname, resolve } from 'node:path';
import { formatValue } from './describe.js';
import { type Duration, parseDuration } from './duration.js';
import { FlowConfigError, FlowDefinitionError, type SerializedError, StoreError } from './errors.js';
import { LOG_LEVELS, type Logger, type LogLevel, ScopedLogger } from './logger.js';
import { describeChange, diffShapes, readStoredShape } from './model/definition-changes.js';
import { EventRef, ownerOf, StepRef } from './model/event.js';
import { type ExprItem, normalizeExpr } from './model/expression.js';
import { type AssocTarget, FlowDefinition, type FlowShape } from './model/flow.js';
import { RUN_MODES, type RunMode, type TaskStatus } from './model/status.js';
import {
  booleanOption,
  buildStepDef,
  checkConfigKeys,
  constructOption,
  integerOption,
  type StepArgs,
  type StepOptions,
  type StepResult,
  type TaskConstruct,
} from './model/step.js';
import { combineObservers, createProgressView, type ProgressOptions } from './progress/index.js';
import { type Clock, systemClock, TestClock } from './runtime/clock.js';
import { activeStepContext } from './runtime/context.js';
import { RunLoop } from './runtime/loop.js';
import { guardObserver, type RunObserver } from './runtime/observer.js';
import { disposeRunners } from './runtime/runners/index.js';
import { decodeResult } from './store/result-codec.js';
import { asStoreError, type RunRow, Store, type TaskRow } from './store/store.js';

export interface EventorConfig {
  /** Cap on tasks running at once in this eventor; < 1 = no cap (default). */
  maxConcurrent?: number;
  /** After an unhandled failure, start no new task (default true). */
  stopOnException?: boolean;
  /** How function steps run: 'inline' (default), 'worker' or 'process'. */
  taskConstruct?: TaskConstruct;
  /** Prefix of the env vars given to worker/process/command steps (default 'EVENTOR_'). */
  envPrefix?: string;
}

export interface EventorOptions {
  name?: string;
  store?: string;
  runMode?: RunMode;
  runId?: string;
  logger?: Logger;
  logLevel?: LogLevel;
  handleSignals?: boolean;
  /** Virtual time for tests (see TestClock); default the system clock. */
  clock?: TestClock;
  /** How long to wait for another process's write to the store file before failing (default '30s'). */
  busyTimeout?: Duration;
  config?: EventorConfig;
}

export interface RunOptions {
  /** Follows the run as it goes; `progress: true` installs the built-in progress view. */
  observer?: RunObserver;
  /** Passes to make; a pass acts on everything ready now and waits for the tasks it started. */
  maxLoops?: number;
  /** Live progress on a TTY, log lines otherwise; an object says how to group the steps into rows. */
  progress?: boolean | ProgressOptions;
}

export interface RunResult {
  /** False iff some step failed with no failure/complete trigger. */
  ok: boolean;
  status: 'success' | 'failure' | 'incomplete';
  runId: string;
  /** 0 for the first run, +1 for each recover. */
  recovery: number;
}

/** A task of a step; `R` is its result type when read through the step's handle. */
export interface TaskRecord<R = unknown> {
  step: string;
  sequence: string;
  recovery: number;
  status: TaskStatus;
  attempts: number;
  result?: R;
  error?: SerializedError;
  /** True when recovery skipped it (its function was not called). */
  skipped: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface TaskQueryOptions<R = unknown> {
  status?: TaskStatus;
  /** A step's handle (which types the records' result) or its name. */
  step?: StepRef<R> | string;
  recovery?: number;
  /** Page size and the number of records to pass over, for paging through large runs. */
  limit?: number;
  offset?: number;
}

export interface PendingWork {
  count: number;
  nextDelayIn: number | null;
}

export interface AddEventOptions {
  expr?: ExprItem;
}

export interface AddAssocOptions {
  delay?: Duration;
}

const OPTION_KEYS = new Set([
  'name',
  'store',
  'runMode',
  'runId',
  'logger',
  'logLevel',
  'handleSignals',
  'clock',
  'busyTimeout',
  'config',
]);
const CONFIG_KEYS = new Set(['maxConcurrent', 'stopOnException', 'taskConstruct', 'envPrefix']);

/**
 * A durable event/step flow on a SQLite store.
 * @example
 * const ev = new Eventor({ store: './nightly.run.db' });
 * const go = ev.addEvent('go');
 * ev.addAssoc(go, ev.addStep('hello', { func: () => 'hi' }));
 * ev.triggerEvent(go);
 * const result = await ev.run();
 */
export class Eventor {
  readonly name: string;
  readonly runMode: RunMode;
  private readonly store: Store;
  private readonly flow = new FlowDefinition();
  private readonly logger: ScopedLogger;
  private readonly settings: {
    maxConcurrent: number;
    stopOnException: boolean;
    taskConstruct: TaskConstruct;
    envPrefix: string;
  };
  private readonly requestedRunId: string | undefined;
  private readonly leaseToken = randomBytes(12).toString('hex');
  private run_: { id: string; recovery: number } | undefined;
  private leaseHeld = false;
  private loop: RunLoop | undefined;
  private closed = false;
  private readonly handleSignals: boolean;
  private readonly clock: Clock;
  /** The shape JSON this run's row holds, so an unchanged flow is not written again. */
  private shapeWritten: string | undefined;

  constructor(options: EventorOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new FlowConfigError(`Eventor options must be an object; got ${formatValue(options)}.`);
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) {
        throw new FlowConfigError(
          `Unknown Eventor option "${key}". Known options: ${[...OPTION_KEYS].join(', ')}.`,
        );
      }
    }
    this.name = options.name ?? defaultName();
    if (typeof this.name !== 'string' || this.name.length === 0) {
      throw new FlowConfigError(
        `Option "name" must be a non-empty string; got ${formatValue(options.name)}.`,
      );
    }
    this.runMode = options.runMode ?? 'restart';
    if (!RUN_MODES.includes(this.runMode)) {
      throw new FlowConfigError(
        `Option "runMode" must be one of ${RUN_MODES.join(', ')}; got ${formatValue(options.runMode)}.`,
      );
    }
    if (options.runId !== undefined && (typeof options.runId !== 'string' || options.runId.length === 0)) {
      throw new FlowConfigError(
        `Option "runId" must be a non-empty string; got ${formatValue(options.runId)}.`,
      );
    }
    this.requestedRunId = options.runId;
    const logLevel = options.logLevel ?? 'warn';
    if (!LOG_LEVELS.includes(logLevel)) {
      throw new FlowConfigError(
        `Option "logLevel" must be one of ${LOG_LEVELS.join(', ')}; got ${formatValue(logLevel)}.`,
      );
    }
    this.logger = ScopedLogger.create(options.logger, logLevel).child({ flow: this.name });
    this.settings = resolveConfig(options.config ?? {});
    this.handleSignals = options.handleSignals ?? false;
    if (options.clock !== undefined && !(options.clock instanceof TestClock)) {
      throw new FlowConfigError(
        `Option "clock" must be a TestClock (new TestClock() from @flow/eventor), or left out for the system clock; got ${formatValue(options.clock)}.`,
      );
    }
    this.clock = options.clock ?? systemClock;
    const storePath = options.store ?? resolve(process.cwd(), `${this.name}.run.db`);
    if (typeof storePath !== 'string' || storePath.length === 0) {
      throw new FlowConfigError(
        `Option "store" must be a file path or ':memory:'; got ${formatValue(options.store)}.`,
      );
    }
    if (storePath === ':memory:' && this.runMode !== 'restart') {
      throw new FlowConfigError(
        `runMode '${this.runMode}' needs a store file: an in-memory store (':memory:') keeps nothing to ${this.runMode}.`,
      );
    }
    const busyTimeoutMs =
      options.busyTimeout === undefined ? undefined : parseDuration(options.busyTimeout, 'busyTimeout');
    this.store = Store.open(storePath, { busyTimeoutMs });
    this.logger.info({ store: storePath }, `Eventor store file: ${storePath}`);
  }

  /** The run this eventor acts on (created or looked up on first use). */
  get runId(): string {
    return this.resolveRun().id;
  }

  /** The recovery number of this run: 0 for the first, +1 for each recover. */
  get recovery(): number {
    return this.resolveRun().recovery;
  }

  /** Defines an event; with `expr` it fires by itself when the expression holds in a sequence. */
  addEvent(name: string, options: AddEventOptions = {}): EventRef {
    this.checkOpen();
    checkOptions(`addEvent(${formatValue(name)})`, options);
    checkName('Event', name);
    const expr =
      options.expr === undefined
        ? undefined
        : normalizeExpr(options.expr, `Event "${name}"`, this.resolveEvent);
    const { def } = this.flow.addEvent(name, expr);
    return this.eventRefs.get(def.name) ?? this.rememberEvent(new EventRef(def.name, def.expr, this));
  }

  /**
   * Defines a step: a function, a module export, a command, or nothing (a no-op step). A func's
   * `args` are checked against its parameters; the handle carries the func's result type.
   */
  addStep<
    A extends StepArgs = [],
    R = never,
    M extends string | URL = never,
    C extends string | readonly string[] = never,
  >(name: string, options?: StepOptions<A, R, M, C>): StepRef<StepResult<R, M, C>>;
  addStep(name: string, options: StepOptions = {}): StepRef {
    this.checkOpen();
    checkName('Step', name);
    const def = buildStepDef(name, options, this.resolveEvent);
    const construct = def.config.taskConstruct ?? this.settings.taskConstruct;
    if (def.kind === 'function' && construct !== 'inline') {
      throw new FlowDefinitionError(
        `Step "${name}": a func cannot run with taskConstruct '${construct}' (closures cannot cross threads or processes). ` +
          `Give { module: new URL('./steps.js', import.meta.url), export: '${def.func?.name || 'myStep'}' } instead.`,
      );
    }
    this.flow.addStep(def);
    return new StepRef(name, this);
  }

  /** Links an event to steps and events it starts or fires, optionally after a delay. */
  addAssoc(
    event: EventRef,
    targets: EventRef | StepRef | ReadonlyArray<EventRef | StepRef>,
    options: AddAssocOptions = {},
  ) {
    this.checkOpen();
    checkOptions('addAssoc', options);
    const source = this.resolveEvent(event, 'addAssoc');
    const list = Array.isArray(targets) ? targets : [targets];
    if (list.length === 0)
      throw new FlowDefinitionError(`addAssoc of event "${source}": give at least one step or event.`);
    const resolved: AssocTarget[] = list.map((target) => this.resolveTarget(target, source));
    const delayMs =
      options.delay === undefined ? 0 : parseDuration(options.delay, `addAssoc(${source}) delay`);
    this.flow.addAssoc(source, resolved, delayMs);
  }

  /** Fires `event` in `sequence` (default '0'); false if it had already fired there. */
  triggerEvent(event: EventRef, sequence: string | number = '0'): boolean {
    this.checkOpen();
    const name = this.resolveEvent(event, 'triggerEvent');
    const seq = normalizeSequence(sequence);
    const run = this.ensureRun();
    const step = activeStepContext();
    if (this.loop?.isActive && step?.runId === run.id) {
      return this.loop.stageTrigger(name, seq, { step: step.name, sequence: step.sequence });
    }
    const fired = this.guard(() =>
      this.store.insertTrigger(run.id, run.recovery, name, seq, false, this.clock.now()),
    );
    if (fired && this.loop?.isActive) this.loop.notifyTrigger(name, seq);
    return fired;
  }

  /** Runs until nothing is left to do (or `maxLoops` passes); resolves with the outcome. */
  async run(options: RunOptions = {}): Promise<RunResult> {
    this.checkOpen();
    if (this.loop?.isActive)
      throw new FlowConfigError(
        `Eventor "${this.name}" is already running; await the first run() before calling it again.`,
      );
    const maxLoops = options.maxLoops ?? -1;
    if (!Number.isInteger(maxLoops))
      throw new FlowConfigError(`Option "maxLoops" must be an integer; got ${formatValue(maxLoops)}.`);
    // made before the run is claimed, so that bad progress options leave the run as it was
    const progress =
      typeof options.progress === 'object' && options.progress !== null ? options.progress : {};
    const view = options.progress ? createProgressView({ ...progress, logger: this.logger }) : undefined;
    const run = this.ensureRun();
    if (!this.guard(() => this.store.hasTriggers(run.id, run.recovery))) {
      // tasks and delays come from triggers only, so nothing is pending either
      this.logger.warn(
        { runId: run.id, recovery: run.recovery },
        `Flow "${this.name}" has nothing to do: no event was triggered in run ${run.id} and nothing is pending. ` +
          'Call triggerEvent(event) before run() to start it.',
      );
    }
    const shape = this.shapeToStore(run);
    this.guard(() =>
      this.store.updateRun(
        run.id,
        shape === undefined ? { status: 'running' } : { status: 'running', shape },
        this.clock.now(),
      ),
    );
    this.shapeWritten = this.flow.shapeAsJson();
    const logger = this.logger.child({ runId: run.id });
    const loop = new RunLoop({
      observer: guardObserver(view ? combineObservers(view, options.observer) : options.observer, logger),
      flow: this.flow,
      store: this.store,
      runId: run.id,
      recovery: run.recovery,
      settings: this.settings,
      logger,
      clock: this.clock,
    });
    this.loop = loop;
    const removeSignalHandlers = this.handleSignals ? this.installSignalHandlers(loop) : () => {};
    try {
      const outcome = await loop.run(maxLoops).catch((error: unknown) => {
        throw asStoreError(error, this.store.path, this.store.busyTimeoutMs);
      });
      if (this.store.isOpen) {
        this.guard(() =>
          this.store.updateRun(
            run.id,
            { status: outcome.status, endedAt: this.clock.now() },
            this.clock.now(),
          ),
        );
      }
      const log = outcome.ok ? this.logger.info.bind(this.logger) : this.logger.error.bind(this.logger);
      log(
        { runId: run.id, recovery: run.recovery, status: outcome.status },
        `Processing finished with: ${outcome.status}`,
      );
      return { ...outcome, runId: run.id, recovery: run.recovery };
    } finally {
      view?.close();
      removeSignalHandlers();
      // stopped workers and children must be gone before another process may take the run over
      await disposeRunners();
      this.releaseLeaseQuietly();
      if (this.closed) this.store.close();
    }
  }

  /** Aborts running steps and records them failed; the run stays recoverable. */
  stop(reason = 'stopped'): void {
    this.loop?.stop(reason);
  }

  /** Work not yet done in this run: unacted triggers, unfinished tasks and pending delays. */
  pending(): PendingWork {
    this.checkOpen();
    const run = this.resolveRun();
    const counts = this.guard(() => this.store.pendingCounts(run.id, run.recovery));
    return {
      count: counts.triggers + counts.tasks + counts.delays,
      nextDelayIn: counts.nextDue === null ? null : Math.max(0, counts.nextDue - this.clock.now()),
    };
  }

  /** Task records of this run, every recovery, oldest first; `step` may be a step's handle. */
  tasks<R = unknown>(query?: TaskQueryOptions<R>): TaskRecord<R>[];
  tasks(query: TaskQueryOptions = {}): TaskRecord[] {
    this.checkOpen();
    checkTaskQuery(query);
    const run = this.resolveRun();
    // a handle names its step in any Eventor on the store, like the name itself would
    const step = query.step instanceof StepRef ? query.step.name : query.step;
    return this.guard(() => this.store.listTasks(run.id, { ...query, step }).map(toTaskRecord));
  }

  /** Closes the store; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.loop?.isActive) {
      // the loop records the stop in the store; run() closes the store once it has
      this.loop.stop('eventor closed');
      return;
    }
    this.releaseLeaseQuietly();
    this.store.close();
  }

  // ---- internals --------------------------------------------------------------------------------

  private readonly eventRefs = new Map<string, EventRef>();

  private rememberEvent(ref: EventRef): EventRef {
    this.eventRefs.set(ref.name, ref);
    return ref;
  }

  private readonly resolveEvent = (value: unknown, where: string): string => {
    if (!(value instanceof EventRef)) {
      throw new FlowDefinitionError(
        `${where}: expected an event from addEvent(); got ${formatValue(value)}.`,
      );
    }
    if (ownerOf(value) !== this) {
      throw new FlowDefinitionError(
        `${where}: event "${value.name}" belongs to another Eventor; define it on this one.`,
      );
    }
    return value.name;
  };

  private resolveTarget(target: unknown, source: string): AssocTarget {
    if (target instanceof StepRef) {
      if (ownerOf(target) !== this) {
        throw new FlowDefinitionError(
          `addAssoc of event "${source}": step "${target.name}" belongs to another Eventor.`,
        );
      }
      return { kind: 'step', name: target.name };
    }
    if (target instanceof EventRef)
      return { kind: 'event', name: this.resolveEvent(target, `addAssoc of event "${source}"`) };
    throw new FlowDefinitionError(
      `addAssoc of event "${source}": targets must be steps from addStep() or events from addEvent(); got ${formatValue(target)}.`,
    );
  }

  /** Store calls made after the store opened: SQLite failures come out as StoreError. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw asStoreError(error, this.store.path, this.store.busyTimeoutMs);
    }
  }

  private checkOpen(): void {
    if (this.closed)
      throw new FlowConfigError(`Eventor "${this.name}" is closed; create a new one to go on.`);
  }

  /** The run, for reading: resolved (and claimed) on first use, never claimed again afterwards. */
  private resolveRun(): { id: string; recovery: number } {
    return this.run_ ?? this.ensureRun();
  }

  /** Creates (restart) or looks up (recover, continue) the run, and holds its lease to write to it. */
  private ensureRun(): { id: string; recovery: number } {
    return this.guard(() => this.claimRun());
  }

  private claimRun(): { id: string; recovery: number } {
    if (this.run_) {
      if (!this.leaseHeld) this.retakeLease(this.run_);
      return this.run_;
    }
    if (this.runMode === 'restart') {
      const id = this.requestedRunId ?? generateRunId();
      if (this.store.getRun(id)) {
        throw new FlowConfigError(
          `Run "${id}" already exists in the store; restart needs a new runId. Use runMode 'recover' or 'continue' to go on with it.`,
        );
      }
      this.store.createRun({ id, name: this.name, mode: 'restart', now: this.clock.now() });
      this.takeLease(id);
      this.run_ = { id, recovery: 0 };
      return this.run_;
    }
    const found: RunRow | undefined =
      this.requestedRunId === undefined
        ? this.store.latestRun(this.name)
        : this.store.getRun(this.requestedRunId);
    if (!found) {
      const damage = this.store.damage();
      if (damage !== undefined) {
        throw new StoreError(
          `Cannot ${this.runMode}: the store at "${this.store.path}" is corrupt (${damage}), so its runs cannot be found. Restore it from a copy, or start afresh with another \`store\` path.`,
          { code: 'FLOW_STORE_FAILED' },
        );
      }
      const which =
        this.requestedRunId === undefined
          ? `no run of flow "${this.name}" (${describeFlows(this.store.flowNames())})`
          : `no run "${this.requestedRunId}"`;
      throw new StoreError(
        `Cannot ${this.runMode}: there is ${which} in the store at "${this.store.path}". Start one with runMode 'restart'.`,
        { code: 'FLOW_STORE_NO_RUN' },
      );
    }
    this.takeLease(found.id);
    const recovery = this.runMode === 'recover' ? found.recovery + 1 : found.recovery;
    this.store.updateRun(found.id, { mode: this.runMode, recovery, status: 'running' }, this.clock.now());
    this.run_ = { id: found.id, recovery };
    return this.run_;
  }

  private takeLease(runId: string): void {
    this.store.acquireLease(runId, this.leaseToken);
    this.leaseHeld = true;
  }

  /** Takes the lease again, unless another holder recovered or continued the run meanwhile. */
  private retakeLease(run: { id: string; recovery: number }): void {
    this.store.acquireLease(run.id, this.leaseToken, (row) => {
      const recovered = row.recovery !== run.recovery;
      if (!recovered && (row.leaseToken === null || row.leaseToken === this.leaseToken)) return;
      throw new StoreError(
        `Run "${run.id}" was ${recovered ? `recovered (it is at recovery ${row.recovery}, this Eventor at ${run.recovery})` : 'continued'} ` +
          `by another Eventor since this one last drove it, so this one would write over its outcome. ` +
          `Open a new Eventor with runMode 'continue' or 'recover' (and runId "${run.id}") to go on with it.`,
        { code: 'FLOW_RUN_MOVED_ON' },
      );
    });
    this.leaseHeld = true;
  }

  /** At the end of a run and on close: a lease left behind lapses with this process, so a store failure here is only logged. */
  private releaseLeaseQuietly(): void {
    try {
      this.releaseLease();
    } catch (error) {
      this.logger.warn({ err: error }, `Could not release the run's lease: ${(error as Error).message}`);
    }
  }

  private releaseLease(): void {
    if (!this.leaseHeld || !this.run_) return;
    this.leaseHeld = false;
    this.store.releaseLease(this.run_.id, this.leaseToken);
  }

  /**
   * The shape JSON to write for this run() (undefined: the stored one stands). A definition changed
   * since the stored shape logs one warning listing every change, and the list is kept with the
   * shape for `eventor show`.
   */
  private shapeToStore(run: { id: string; recovery: number }): string | undefined {
    const shape = this.flow.shapeAsJson();
    if (shape === this.shapeWritten) return undefined;
    const storedJson = this.guard(() => this.store.getRun(run.id))?.shape ?? null;
    if (storedJson === shape) return undefined;
    const stored = readStoredShape(storedJson);
    if (stored === undefined) return shape;
    const current = JSON.parse(shape) as FlowShape;
    const changes = diffShapes(stored, current);
    const history = stored.changes ?? [];
    if (changes.length > 0) {
      history.push({ recovery: run.recovery, at: this.clock.now(), changes });
      this.logger.warn(
        { runId: run.id, recovery: run.recovery, changes },
        `The flow's definition changed since run ${run.id} was stored: ${changes.map(describeChange).join('; ')}. ` +
          'Steps are matched by name and keep their recovery policy; an unfinished task of a removed step keeps the run incomplete.',
      );
    } else if (stored.version === current.version) {
      return undefined; // the same definition: the stored JSON differs by its history only
    }
    return history.length === 0 ? shape : JSON.stringify({ ...current, changes: history });
  }

  private installSignalHandlers(loop: RunLoop): () => void {
    const onSignal = (signal: NodeJS.Signals) => loop.stop(`received ${signal}`);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    return () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }
}

function resolveConfig(config: EventorConfig) {
  checkConfigKeys('Eventor', config, CONFIG_KEYS);
  const maxConcurrent = integerOption(
    'Eventor',
    'maxConcurrent',
    config.maxConcurrent ?? -1,
    Number.NEGATIVE_INFINITY,
  );
  const stopOnException = booleanOption('Eventor', 'stopOnException', config.stopOnException) ?? true;
  const taskConstruct = constructOption('Eventor', config.taskConstruct) ?? 'inline';
  const envPrefix = config.envPrefix ?? 'EVENTOR_';
  if (typeof envPrefix !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(envPrefix)) {
    throw new FlowConfigError(
      `Eventor: config.envPrefix must be a valid env var prefix such as 'EVENTOR_'; got ${formatValue(envPrefix)}.`,
    );
  }
  return { maxConcurrent, stopOnException, taskConstruct, envPrefix };
}

/** A UTF-16 surrogate without its pair: SQLite would store it as U+FFFD, so names would change. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkName(kind: 'Event' | 'Step', name: unknown): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new FlowDefinitionError(`${kind} name must be a non-empty string; got ${formatValue(name)}.`);
  }
  if (LONE_SURROGATE.test(name)) {
    throw new FlowDefinitionError(
      `${kind} name ${formatValue(name)} is not well-formed text (a lone UTF-16 surrogate).`,
    );
  }
}

function checkOptions(where: string, options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new FlowDefinitionError(`${where}: options must be an object; got ${formatValue(options)}.`);
  }
}

const TASK_QUERY_KEYS = new Set(['status', 'step', 'recovery', 'limit', 'offset']);

function checkTaskQuery(query: unknown): asserts query is TaskQueryOptions {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new FlowConfigError(
      `tasks(query): the query must be an object such as { status: 'failure' }; got ${formatValue(query)}.`,
    );
  }
  for (const [key, value] of Object.entries(query)) {
    if (!TASK_QUERY_KEYS.has(key)) {
      throw new FlowConfigError(
        `tasks(query): unknown option "${key}". Known: ${[...TASK_QUERY_KEYS].join(', ')}.`,
      );
    }
    if (value === undefined) continue;
    const text = key === 'status' || key === 'step';
    const valid = text
      ? typeof value === 'string' || (key === 'step' && value instanceof StepRef)
      : Number.isInteger(value) && (value as number) >= 0;
    if (!valid) {
      const expected = key === 'step' ? "a step's handle or name" : text ? 'a string' : 'a whole number >= 0';
      throw new FlowConfigError(
        `tasks(query): option "${key}" must be ${expected}; got ${formatValue(value)}.`,
      );
    }
  }
}

function normalizeSequence(sequence: unknown): string {
  if (typeof sequence === 'number' && Number.isFinite(sequence)) return String(sequence);
  if (typeof sequence === 'string' && sequence.length > 0 && !LONE_SURROGATE.test(sequence)) return sequence;
  throw new FlowDefinitionError(
    `triggerEvent: sequence must be a non-empty, well-formed string or a finite number; got ${formatValue(sequence)}.`,
  );
}

function describeFlows(names: readonly string[]): string {
  if (names.length === 0) return 'the store has no runs at all';
  const shown = names.slice(0, 10).map((name) => JSON.stringify(name));
  const more = names.length > shown.length ? `, and ${names.length - shown.length} more` : '';
  return `the store has runs of ${names.length === 1 ? 'flow' : 'flows'} ${shown.join(', ')}${more}; give that \`name\``;
}

function defaultName(): string {
  const entry = process.argv[1];
  return entry ? basename(entry, extname(entry)) : 'eventor';
}

function generateRunId(): string {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `r-${stamp}-${randomBytes(3).toString('hex')}`;
}

function toTaskRecord(row: TaskRow): TaskRecord {
  const record: TaskRecord = {
    step: row.step,
    sequence: row.sequence,
    recovery: row.recovery,
    status: row.status,
    attempts: row.attempts,
    skipped: row.skipped === 1,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
  };
  try {
    const result = decodeResult(row);
    if (result.has) record.result = result.value;
    if (row.error !== null) record.error = JSON.parse(row.error) as SerializedError;
  } catch (cause) {
    throw new StoreError(
      `Task ${row.step}[${row.sequence}] (recovery ${row.recovery}) has a stored result or error that cannot be read: the store is damaged.`,
      { cause, code: 'FLOW_STORE_DAMAGED' },
    );
  }
  return record;
}
