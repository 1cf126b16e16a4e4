import type { Event } from './event.js';

/** A logger with the usual four levels (pino fits); each takes fields and/or a message. */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** What to do when a handler throws (anything but `StopProcessing`). */
export type OnError = 'stop' | 'continue' | 'collect';

/** Options of `new Processor(...)`. */
export interface ProcessorOptions {
  /** Receives debug lines and, with `onError: 'continue'`, handler failures. Nothing is logged without it. */
  logger?: Logger;
  /** `'stop'` (default) rethrows at once; `'continue'` logs and goes on; `'collect'` goes on and throws an `AggregateError` at the end. */
  onError?: OnError;
}

/** Options of `loadFrom`. */
export interface LoadFromOptions {
  /** The folder of the application's package.json; default `process.cwd()`. */
  root?: string;
}

/** A map from event name to event type, e.g. `{ deployed: Deployed }`; see `Processor<Events>`. */
export type EventMap<Events> = { [K in keyof Events]: Event };

/** The union of the event types of a map (`Event` for the default map). */
export type EventOf<Events> = Events[keyof Events];

/**
 * Names the `Processor` class for the handler types below without importing it: `processor.ts`
 * adds `processor: Processor<Events>` here by declaration merging, so this file imports nothing
 * that imports it back.
 */
// biome-ignore lint/correctness/noUnusedVariables lint/suspicious/noEmptyInterface: filled in by processor.ts
export interface ProcessorTypes<Events extends EventMap<Events>> {}

// `void` so that handlers declared to return nothing (including `async` ones) fit.
// biome-ignore lint/suspicious/noConfusingVoidType: see above
type Nothing = void | undefined | null;

/** What a handler may return: nothing, or an iterable of follow-up events (or a promise of either). */
export type HandlerResult = Iterable<Event> | Nothing | PromiseLike<Iterable<Event> | Nothing>;

/**
 * A handler: called with the processor and the event; may return follow-up events.
 * `Handler<Events, 'deployed'>` types `ev` as `Events['deployed']`.
 * @example
 * const notify: Handler<{ deployed: Deployed }, 'deployed'> = want('deployed')((proc, ev) => {
 *   console.log(ev.ctxt.host);
 * });
 */
export type Handler<
  Events extends EventMap<Events> = Record<string, Event>,
  K extends keyof Events = keyof Events,
> = {
  // Method syntax keeps parameters bivariant, so a handler typed for one event of the map is still
  // a handler of the map (it is only called for the names it wants).
  handle(proc: ProcessorTypes<Events>['processor'], ev: Events[K]): HandlerResult;
}['handle'];

/** A `want` filter function: the handler runs only if it returns a truthy value. */
export type Predicate<E extends Event = Event> = (ev: E) => unknown;

/** Any handler, whatever event map its processor has. */
export type AnyHandler = {
  // biome-ignore lint/suspicious/noExplicitAny: a handler may be written for any processor's event map
  handle(proc: ProcessorTypes<any>['processor'], ev: Event): HandlerResult;
}['handle'];

/** Wraps a handler: attaches metadata and returns the same function, with its type unchanged. */
export type HandlerWrapper = <F extends AnyHandler>(handler: F) => F;

/** One `want(...)` call: names (any of them) and predicates (all of them, in order). */
export interface WantSet {
  readonly names: readonly string[];
  readonly predicates: readonly Predicate[];
}

/** Metadata the wrappers attach to a handler function. */
export interface HandlerMeta {
  readonly wants: readonly WantSet[];
  readonly requires: readonly string[];
  readonly requiredBy: readonly string[];
}

/** A registered handler, as the processor keeps it (metadata copied at registration). */
export interface HandlerRecord extends HandlerMeta {
  readonly name: string;
  readonly fn: (proc: never, ev: never) => unknown;
}

/** One handler in an event name's plan. */
export interface PlanEntry {
  readonly name: string;
  readonly fn: (proc: unknown, ev: unknown) => unknown;
  /**
   * `null`: runs for every event of this name. Otherwise alternatives, one per applicable `want`:
   * the handler runs if every predicate of any one of them returns true.
   */
  readonly conditions: readonly (readonly Predicate[])[] | null;
  /** Positions (in the plan) of the handlers this one requires; checked per event when they are conditional. */
  readonly requires: readonly number[];
}

/** The handlers that can run for one event name, in the order they run. */
export interface Plan {
  readonly event: string;
  readonly entries: readonly PlanEntry[];
  readonly names: readonly string[];
  /** True when some entry has predicates, so each event needs a selection pass. */
  readonly conditional: boolean;
}
