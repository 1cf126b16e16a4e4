import { handlerMeta, want as wantFn } from './decorators.js';
import { loadHandlers } from './discovery.js';
import {
  describeValue,
  EvprocError,
  isStopProcessing,
  RequirementsError,
  ReregisterError,
} from './errors.js';
import type { Event } from './event.js';
import { buildPlan } from './order.js';
import type {
  AnyHandler,
  EventMap,
  EventOf,
  Handler,
  HandlerRecord,
  LoadFromOptions,
  Logger,
  OnError,
  Plan,
  PlanEntry,
  Predicate,
  ProcessorOptions,
} from './types.js';

declare module './types.js' {
  interface ProcessorTypes<Events extends EventMap<Events>> {
    readonly processor: Processor<Events>;
  }
}

const ON_ERROR: readonly string[] = ['stop', 'continue', 'collect'];

// Marks a handler whose predicate threw: it does not run, and the error goes through `onError`.
class PredicateFailure {
  constructor(readonly error: unknown) {}
}

// Marks a handler skipped because a handler it requires failed its predicate (directly or in turn).
const SKIPPED = Symbol('skipped');

type Selection = (boolean | PredicateFailure | typeof SKIPPED)[];

/**
 * Where `#dispatch` stopped because a handler returned a thenable: the loop's state, so that
 * `process` can await the thenable and `#dispatch` go on from the same handler.
 */
class Suspension {
  /** Set by `process` once the thenable has settled: its value, or its rejection when `rejected`. */
  outcome: unknown;
  rejected = false;

  constructor(
    readonly thenable: PromiseLike<unknown>,
    readonly event: Event,
    readonly entries: readonly PlanEntry[],
    readonly selection: Selection | undefined,
    readonly index: number,
    readonly queue: Event[] | undefined,
    readonly head: number,
    readonly errors: unknown[] | undefined,
  ) {}
}

// What `#dispatch` returns when it suspended; the `Suspension` is in `#suspension`. A symbol, so no
// value a `StopProcessing(value)` carries can be taken for it.
const SUSPENDED = Symbol('suspended');

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs the registered handlers for each event, in requirement order, then the follow-up events
 * they return (breadth first). `Events` optionally maps event names to event types.
 * @example
 * const proc = new Processor({ onError: 'stop' });
 * proc.register(want('deployed')(function notify(proc, ev) { console.log(ev.name); }));
 * await proc.process(new NamedEvent('deployed'));
 */
export class Processor<Events extends EventMap<Events> = Record<string, Event>> {
  readonly #records = new Map<string, HandlerRecord>();
  readonly #sources = new Map<string, string>();
  readonly #plans = new Map<string, Plan | RequirementsError>();
  readonly #logger: Logger | undefined;
  readonly #onError: OnError;
  #suspension: Suspension | undefined;

  constructor(options: ProcessorOptions = {}) {
    const onError = options.onError ?? 'stop';
    if (!ON_ERROR.includes(onError)) {
      throw new TypeError(
        `Processor option onError must be 'stop', 'continue' or 'collect', got ${describeValue(onError)}`,
      );
    }
    this.#onError = onError;
    this.#logger = options.logger;
  }

  /**
   * Typed `want` for this processor's event map: the wrapped handler's `ev` gets the type of the
   * named events. Same behaviour as the exported `want`.
   * @example
   * proc.register(proc.want('deployed')(function notify(proc, ev) { ev.ctxt.host; }));
   */
  want<const N extends keyof Events & string>(
    ...filters: Array<N | Predicate<Events[N]>>
  ): <F extends Handler<Events, N>>(handler: F) => NoInfer<F> {
    return wantFn(...(filters as Array<string | Predicate>)) as never;
  }

  /**
   * Adds a handler under `name` (default: the function's name). Its `want`/`requires`/`requiredBy`
   * metadata is read now; wrapping it again later has no effect on this registration.
   */
  register(handler: Handler<Events>, name?: string): void;
  register(handler: AnyHandler, name?: string): void;
  register(handler: Handler<Events> | AnyHandler, name?: string): void {
    this.#register(handler, name, undefined);
  }

  #register(
    handler: Handler<Events> | AnyHandler,
    name: string | undefined,
    source: string | undefined,
  ): string {
    if (typeof handler !== 'function') {
      throw new TypeError(`register() takes a handler function, got ${describeValue(handler)}`);
    }
    if (name !== undefined && (typeof name !== 'string' || name === '')) {
      throw new TypeError(`register() takes a non-empty string name, got ${describeValue(name)}`);
    }
    const handlerName = name ?? handler.name;
    if (handlerName === '') {
      throw new EvprocError(
        'register() was given an anonymous function and no name: pass one, e.g. ' +
          "proc.register(fn, 'audit_log'), or use a named function (function audit_log(proc, ev) {...})",
        { code: 'EVPROC_ANONYMOUS_HANDLER' },
      );
    }
    if (this.#records.has(handlerName)) {
      const from = this.#sources.get(handlerName);
      const now = source ? ` (now from ${source})` : '';
      throw new ReregisterError(
        handlerName,
        `A handler named "${handlerName}" is already registered${from ? ` (from ${from})` : ''}${now}: ` +
          `register this one under another name, e.g. proc.register(fn, '${handlerName}_2'), ` +
          `or unregister('${handlerName}') first.`,
      );
    }
    const meta = handlerMeta(handler);
    this.#records.set(handlerName, {
      name: handlerName,
      fn: handler as HandlerRecord['fn'],
      wants: [...meta.wants],
      requires: [...meta.requires],
      requiredBy: [...meta.requiredBy],
    });
    if (source) this.#sources.set(handlerName, source);
    this.#plans.clear();
    this.#logger?.debug({ handler: handlerName, source }, `registered handler "${handlerName}"`);
    return handlerName;
  }

  /** Removes the handler registered under `name`; true if there was one. */
  unregister(name: string): boolean {
    const had = this.#records.delete(name);
    if (had) {
      this.#sources.delete(name);
      this.#plans.clear();
      this.#logger?.debug({ handler: name }, `unregistered handler "${name}"`);
    }
    return had;
  }

  /**
   * The names of the handlers that would run for an event of this name, in order (handlers with
   * predicates included: they run if their predicates pass). Throws `RequirementsError`.
   */
  order(eventName: string): string[] {
    return [...this.#planFor(eventName).names];
  }

  /**
   * Registers the handlers that the app's dependencies declare under `group` in the `evproc` field
   * of their package.json; returns their names. See the README, "Writing a plugin".
   */
  async loadFrom(group: string, options: LoadFromOptions = {}): Promise<string[]> {
    const root = options.root ?? process.cwd();
    const found = await loadHandlers(group, root, this.#logger);
    const added: string[] = [];
    try {
      for (const h of found) added.push(this.#register(h.handler as AnyHandler, h.name, h.source));
    } catch (err) {
      // All or nothing: a clash leaves the processor as it was.
      for (const name of added) this.unregister(name);
      throw err;
    }
    return added;
  }

  #planFor(eventName: string): Plan {
    let plan = this.#plans.get(eventName);
    if (plan === undefined) {
      try {
        plan = buildPlan(eventName, this.#records.values());
        this.#logger?.debug({ event: eventName, order: plan.names }, `planned handlers for "${eventName}"`);
      } catch (err) {
        if (!(err instanceof RequirementsError)) throw err;
        plan = err;
      }
      this.#plans.set(eventName, plan);
    }
    if (plan instanceof RequirementsError) throw plan;
    return plan;
  }

  /** Evaluates predicates for one event; checks that required conditional handlers were selected. */
  #select(plan: Plan, ev: Event): Selection {
    const entries = plan.entries;
    const selection: Selection = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const conditions = entries[i]!.conditions;
      if (conditions === null) {
        selection[i] = true;
        continue;
      }
      let chosen: boolean | PredicateFailure = false;
      try {
        for (const predicates of conditions) {
          let all = true;
          for (const predicate of predicates) {
            if (!predicate(ev)) {
              all = false;
              break;
            }
          }
          if (all) {
            chosen = true;
            break;
          }
        }
      } catch (err) {
        chosen = new PredicateFailure(err);
      }
      selection[i] = chosen;
    }
    let details: { handler: string; requires: string; reason: 'unselected' }[] | undefined;
    // Plan order is a topological order, so a requirement is settled before its dependents.
    for (let i = 0; i < entries.length; i++) {
      if (selection[i] !== true) continue;
      for (const r of entries[i]!.requires) {
        const state = selection[r];
        if (state === true) continue;
        // The required handler's predicate threw: skip this one too; that error is reported in its place.
        if (state instanceof PredicateFailure || state === SKIPPED) {
          selection[i] = SKIPPED;
          break;
        }
        if (details === undefined) details = [];
        details.push({ handler: entries[i]!.name, requires: entries[r]!.name, reason: 'unselected' });
      }
    }
    if (details !== undefined) {
      const problems = details.map(
        (d) => `"${d.handler}" requires "${d.requires}", whose want(...) predicates turned this event down`,
      );
      throw new RequirementsError(
        `Cannot run the handlers of event "${plan.event}": ${problems.join('; ')}. ` +
          `Give the dependent handler the same predicates (so both run or neither does), ` +
          `or drop the requires(...).`,
        { event: plan.event, details },
      );
    }
    return selection;
  }

  /** Applies the `onError` policy to a handler failure; returns the collected errors. */
  #failed(err: unknown, entry: PlanEntry, ev: Event, errors: unknown[] | undefined): unknown[] | undefined {
    if (this.#onError === 'stop') throw err;
    if (this.#onError === 'continue') {
      this.#logger?.error(
        { err, handler: entry.name, event: ev.name },
        `handler "${entry.name}" failed on event "${ev.name}"; going on (onError: 'continue')`,
      );
      return errors;
    }
    const list = errors ?? [];
    list.push(
      new EvprocError(`handler "${entry.name}" failed on event "${ev.name}"`, {
        code: 'EVPROC_HANDLER_FAILED',
        cause: err,
      }),
    );
    return list;
  }

  #enqueue(result: unknown, entry: PlanEntry, ev: Event, queue: Event[] | undefined): Event[] | undefined {
    // A string is iterable, but its characters are not events: refuse it as a whole.
    if (
      typeof result === 'string' ||
      typeof (result as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function'
    ) {
      throw new EvprocError(
        `handler "${entry.name}" returned ${describeValue(result)} for event "${ev.name}": ` +
          'return an array (or another iterable) of follow-up events, e.g. return [new NamedEvent("next")], ' +
          'or return nothing',
        { code: 'EVPROC_BAD_RESULT' },
      );
    }
    for (const next of result as Iterable<unknown>) {
      if (typeof (next as { name?: unknown } | null)?.name !== 'string') {
        throw new EvprocError(
          `handler "${entry.name}" returned ${describeValue(next)} among its follow-up events for "${ev.name}": ` +
            'each must be an Event (e.g. new NamedEvent("next"))',
          { code: 'EVPROC_BAD_RESULT' },
        );
      }
      if (queue === undefined) queue = [];
      queue.push(next as Event);
    }
    return queue;
  }

  #aggregate(errors: unknown[]): AggregateError {
    const causes = errors.map((e) => (e instanceof Error ? e.message : String(e)));
    return new AggregateError(
      errors,
      `${errors.length} handler failure(s) while processing (onError: 'collect'): ${causes.join('; ')}`,
    );
  }

  /**
   * Processes `ev` and then the follow-up events handlers return, breadth first, until the queue is
   * empty. Awaits a handler only if it returns a promise. Resolves to `undefined`, or to the value of
   * a `StopProcessing(value)`.
   */
  async process(ev: EventOf<Events>): Promise<unknown> {
    let result = this.#dispatch(ev as Event, undefined);
    while (result === SUSPENDED) {
      const suspension = this.#takeSuspension();
      try {
        suspension.outcome = await suspension.thenable;
      } catch (err) {
        suspension.outcome = err;
        suspension.rejected = true;
      }
      result = this.#dispatch(suspension.event, suspension);
    }
    return result;
  }

  /**
   * Same as `process`, for synchronous handlers: returns the result directly. Throws `EvprocError`
   * if a handler returns a promise.
   */
  processSync(ev: EventOf<Events>): unknown {
    const result = this.#dispatch(ev as Event, undefined);
    if (result !== SUSPENDED) return result;
    const { thenable, entries, index, event } = this.#takeSuspension();
    // Nobody will await it: keep its rejection from becoming an unhandled one.
    Promise.resolve(thenable).catch(() => {});
    throw new EvprocError(
      `handler "${entries[index]!.name}" returned a promise for event "${event.name}" in processSync(): ` +
        'use await proc.process(ev) when a handler is async',
      { code: 'EVPROC_ASYNC_IN_SYNC' },
    );
  }

  #takeSuspension(): Suspension {
    const suspension = this.#suspension!;
    this.#suspension = undefined;
    return suspension;
  }

  /**
   * The loop of `process` and `processSync`: runs the handlers of `ev`, then of the events they
   * return, breadth first, and returns what processing returns. A handler that returns a thenable
   * suspends it: it keeps its state in `#suspension` and returns `SUSPENDED`; once the thenable has
   * settled, `#dispatch(event, suspension)` takes its outcome as that handler's and goes on.
   */
  #dispatch(ev: Event, resumed: Suspension | undefined): unknown {
    let current = ev;
    let queue: Event[] | undefined;
    let head = 0;
    let errors: unknown[] | undefined;
    let entries: readonly PlanEntry[] | undefined;
    let selection: Selection | undefined;
    let i = 0;
    if (resumed !== undefined) {
      ({ queue, head, errors, entries, selection, index: i } = resumed);
    }
    for (;;) {
      if (entries === undefined) {
        const plan = this.#planFor(current.name);
        entries = plan.entries;
        selection = plan.conditional ? this.#select(plan, current) : undefined;
        i = 0;
      }
      for (; i < entries.length; i++) {
        const entry = entries[i]!;
        if (selection !== undefined) {
          const state = selection[i];
          if (state !== true) {
            if (state instanceof PredicateFailure) errors = this.#failed(state.error, entry, current, errors);
            continue;
          }
        }
        try {
          let result: unknown;
          if (resumed === undefined) {
            result = entry.fn(this, current);
            if (result === undefined || result === null) continue;
            if (isThenable(result)) {
              this.#suspension = new Suspension(result, current, entries, selection, i, queue, head, errors);
              return SUSPENDED;
            }
          } else {
            const settled = resumed;
            resumed = undefined;
            if (settled.rejected) throw settled.outcome;
            result = settled.outcome;
            if (result === undefined || result === null) continue;
          }
          queue = this.#enqueue(result, entry, current, queue);
        } catch (err) {
          if (isStopProcessing(err)) {
            if (!err.hasValue) break;
            if (errors !== undefined) throw this.#aggregate(errors);
            return err.value;
          }
          errors = this.#failed(err, entry, current, errors);
        }
      }
      if (queue === undefined || head >= queue.length) break;
      current = queue[head++]!;
      entries = undefined;
    }
    if (errors !== undefined) throw this.#aggregate(errors);
    return undefined;
  }
}
