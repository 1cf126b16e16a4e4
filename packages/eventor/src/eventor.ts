import { basename, extname, resolve } from 'node:path';
import { formatValue } from './describe.js';
import { parseDuration } from './duration.js';
import { FlowConfigError, FlowDefinitionError, type SerializedError, StoreError } from './errors.js';
import { ScopedLogger } from './logger.js';
import { describeChange, diffShapes, readStoredShape } from './model/definition-changes.js';
import { EventRef, ownerOf, StepRef } from './model/event.js';
import { type ExprItem, normalizeExpr } from './model/expression.js';
import { type AssocTarget, FlowDefinition, type FlowShape } from './model/flow.js';
import type { RunMode, TaskStatus } from './model/status.js';
import type { StepArgs, StepOptions, StepResult } from './model/step.js';
import { checkTree, type TreeDescription } from './model/tree.js';
import {
  buildStepDef,
  checkName,
  checkOptionsObject,
  checkTaskQuery,
  type EventorOptions,
  normalizeSequence,
  type RunOptions,
  resolveEventorOptions,
  resolveMaxLoops,
  type TaskQueryOptions,
} from './options.js';
import { combineObservers, createProgressView } from './progress/index.js';
import { type Clock, systemClock } from './runtime/clock.js';
import { activeStepContext } from './runtime/context.js';
import { RunLoop, type RunSettings } from './runtime/loop.js';
import { guardObserver } from './runtime/observer.js';
import { disposeRunners } from './runtime/runners/index.js';
import { type ClaimedRun, RunSession } from './runtime/session.js';
import { openStore } from './store/open.js';
import { decodeResult } from './store/result-codec.js';
import type { Store, TaskRow } from './store/types.js';

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

export interface PendingWork {
  count: number;
  nextDelayIn: number | null;
}

export interface AddEventOptions {
  expr?: ExprItem;
}

export interface AddAssocOptions {
  delay?: import('./duration.js').Duration;
}

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
  private readonly settings: RunSettings;
  private readonly session: RunSession;
  private loop: RunLoop | undefined;
  /** Set from the moment run() is called until it settles, before the loop exists. */
  private running = false;
  /** A stop() that came while run() was still starting; the loop begins stopped. */
  private stopBeforeLoop: string | undefined;
  private closed = false;
  private readonly handleSignals: boolean;
  private readonly clock: Clock;
  /** The shape JSON this run's row holds, so an unchanged flow is not written again. */
  private shapeWritten: string | undefined;

  constructor(options: EventorOptions = {}) {
    const resolved = resolveEventorOptions(options, {
      name: defaultName(),
      store: (name) => resolve(process.cwd(), `${name}.run.db`),
    });
    this.name = resolved.name;
    this.runMode = resolved.runMode;
    this.logger = ScopedLogger.create(resolved.logger, resolved.logLevel).child({ flow: this.name });
    this.settings = resolved.settings;
    this.handleSignals = resolved.handleSignals;
    this.clock = resolved.clock ?? systemClock;
    this.store = openStore(resolved.store, { busyTimeoutMs: resolved.busyTimeoutMs });
    this.session = new RunSession({
      store: this.store,
      name: this.name,
      runMode: this.runMode,
      runId: resolved.runId,
      leaseTtlMs: resolved.leaseTtlMs,
      clock: this.clock,
      logger: this.logger,
    });
    this.session.onLost = (error) => this.loop?.abort(error);
    // the location as the store names it: a URL with its password hidden
    this.logger.info({ store: this.store.location }, `Eventor store: ${this.store.location}`);
  }

  /** The run this eventor acts on (created or looked up on first use). */
  get runId(): string {
    return this.session.run.id;
  }

  /** The recovery number of this run: 0 for the first, +1 for each recover. */
  get recovery(): number {
    return this.session.run.recovery;
  }

  /** Defines an event; with `expr` it fires by itself when the expression holds in a sequence. */
  addEvent(name: string, options: AddEventOptions = {}): EventRef {
    this.checkOpen();
    checkOptionsObject(`addEvent(${formatValue(name)})`, options);
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
    checkOptionsObject('addAssoc', options);
    const source = this.resolveEvent(event, 'addAssoc');
    const list = Array.isArray(targets) ? targets : [targets];
    if (list.length === 0)
      throw new FlowDefinitionError(`addAssoc of event "${source}": give at least one step or event.`);
    const resolved: AssocTarget[] = list.map((target) => this.resolveTarget(target, source));
    const delayMs =
      options.delay === undefined ? 0 : parseDuration(options.delay, `addAssoc(${source}) delay`);
    this.flow.addAssoc(source, resolved, delayMs);
  }

  /**
   * Records the tree this flow's steps and events were compiled from (by a library such as
   * sequent), so that `eventor graph`, `show`, `why` and `ui` show the run as that tree. Call it
   * once the steps and events it names are defined; it is stored with the run's shape.
   */
  describeTree(tree: TreeDescription): void {
    this.checkOpen();
    this.flow.setTree(
      checkTree(tree, {
        hasStep: (name) => this.flow.steps.has(name),
        hasEvent: (name) => this.flow.events.has(name),
      }),
    );
  }

  /** Fires `event` in `sequence` (default '0'); false if it had already fired there. */
  triggerEvent(event: EventRef, sequence: string | number = '0'): boolean {
    this.checkOpen();
    const name = this.resolveEvent(event, 'triggerEvent');
    const seq = normalizeSequence(sequence);
    const run = this.session.claim();
    if (this.loop?.isActive) {
      // committed by the loop's next pass; from a step's body, with that step's end
      const step = activeStepContext();
      const source = step?.runId === run.id ? { step: step.name, sequence: step.sequence } : undefined;
      return this.loop.stageTrigger(name, seq, source);
    }
    return sync(
      this.store.insertTrigger({
        runId: run.id,
        recovery: run.recovery,
        event: name,
        sequence: seq,
        now: this.clock.now(),
      }),
    );
  }

  /** Runs until nothing is left to do (or `maxLoops` passes); resolves with the outcome. */
  async run(options: RunOptions = {}): Promise<RunResult> {
    this.checkOpen();
    if (this.running)
      throw new FlowConfigError(
        `Eventor "${this.name}" is already running; await the first run() before calling it again.`,
      );
    this.running = true;
    this.stopBeforeLoop = undefined;
    try {
      return await this.runOnce(options);
    } finally {
      this.running = false;
      this.loop = undefined; // its state (fired triggers, task keys) is the run's history: let it go
    }
  }

  private async runOnce(options: RunOptions): Promise<RunResult> {
    const maxLoops = resolveMaxLoops(options.maxLoops);
    // made before the run is claimed, so that bad progress options leave the run as it was
    const progress =
      typeof options.progress === 'object' && options.progress !== null ? options.progress : {};
    const view = options.progress ? createProgressView({ ...progress, logger: this.logger }) : undefined;
    const run = this.session.claim();
    const removeSignalHandlers = this.handleSignals
      ? RunSession.handleSignals((signal) => this.stop(`received ${signal}`))
      : () => {};
    try {
      if (!(await this.store.hasTriggers({ runId: run.id, recovery: run.recovery }))) {
        // tasks and delays come from triggers only, so nothing is pending either
        this.logger.warn(
          { runId: run.id, recovery: run.recovery },
          `Flow "${this.name}" has nothing to do: no event was triggered in run ${run.id} and nothing is pending. ` +
            'Call triggerEvent(event) before run() to start it.',
        );
      }
      const shape = await this.shapeToStore(run);
      await this.store.updateRun({
        id: run.id,
        fields: shape === undefined ? { status: 'running' } : { status: 'running', shape },
        now: this.clock.now(),
      });
      this.shapeWritten = this.flow.shapeAsJson();
      const logger = this.logger.child({ runId: run.id });
      const loop = new RunLoop({
        observer: guardObserver(view ? combineObservers(view, options.observer) : options.observer, logger),
        flow: this.flow,
        store: this.store.forRun({ runId: run.id, recovery: run.recovery, holder: this.session.holder }),
        runId: run.id,
        recovery: run.recovery,
        settings: this.settings,
        logger,
        clock: this.clock,
      });
      this.loop = loop;
      if (this.stopBeforeLoop !== undefined) loop.stop(this.stopBeforeLoop);
      const outcome = await loop.run(maxLoops);
      if (this.store.isOpen) {
        await this.store.updateRun({
          id: run.id,
          fields: { status: outcome.status, endedAt: this.clock.now() },
          now: this.clock.now(),
        });
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
      this.session.release();
      if (this.closed) await this.store.close();
    }
  }

  /** Aborts running steps and records them failed; the run stays recoverable. */
  stop(reason = 'stopped'): void {
    if (this.loop) this.loop.stop(reason);
    else if (this.running) this.stopBeforeLoop ??= reason;
  }

  /** Work not yet done in this run: unacted triggers, unfinished tasks and pending delays. */
  pending(): PendingWork {
    this.checkOpen();
    const run = this.session.run;
    const counts = sync(this.store.pendingCounts({ runId: run.id, recovery: run.recovery }));
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
    const run = this.session.run;
    // a handle names its step in any Eventor on the store, like the name itself would
    const step = query.step instanceof StepRef ? query.step.name : query.step;
    return sync(this.store.listTasks(run.id, { ...query, step })).map(toTaskRecord);
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
    this.session.release();
    void this.store.close();
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

  private checkOpen(): void {
    if (this.closed)
      throw new FlowConfigError(`Eventor "${this.name}" is closed; create a new one to go on.`);
  }

  /**
   * The shape JSON to write for this run() (undefined: the stored one stands). A definition changed
   * since the stored shape logs one warning listing every change, and the list is kept with the
   * shape for `eventor show`.
   */
  private async shapeToStore(run: ClaimedRun): Promise<string | undefined> {
    const shape = this.flow.shapeAsJson();
    if (shape === this.shapeWritten) return undefined;
    const storedJson = (await this.store.getRun(run.id))?.shape ?? null;
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
    } else if (stored.version === current.version && sameJson(stored.tree, current.tree)) {
      return undefined; // the same definition: the stored JSON differs by its history only
    }
    return history.length === 0 ? shape : JSON.stringify({ ...current, changes: history });
  }
}

/** A store answer that a synchronous method returns (file stores answer at once). */
function sync<T>(value: T | Promise<T>): T {
  if (value instanceof Promise) {
    throw new StoreError('This store answers asynchronously; call this method after `await ev.run()`.', {
      code: 'FLOW_STORE_ASYNC',
    });
  }
  return value;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function defaultName(): string {
  const entry = process.argv[1];
  return entry ? basename(entry, extname(entry)) : 'eventor';
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
