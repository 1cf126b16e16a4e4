import type { Event } from './event.js';
import type { Processor } from './processor.js';

// `void` so that handlers declared to return nothing (including `async` ones) fit.
// biome-ignore lint/suspicious/noConfusingVoidType: see above
type Nothing = void | undefined | null;

/** What a handler may return: nothing, or an iterable of follow-up events (or a promise of either). */
export type HandlerResult = Iterable<Event> | Nothing | PromiseLike<Iterable<Event> | Nothing>;

/** A map from event name to event type, e.g. `{ deployed: Deployed }`; see `Processor<Events>`. */
export type EventMap<Events> = { [K in keyof Events]: Event };

/** The union of the event types of a map (`Event` for the default map). */
export type EventOf<Events> = Events[keyof Events];

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
  handle(proc: Processor<Events>, ev: Events[K]): HandlerResult;
}['handle'];

/** A `want` filter function: the handler runs only if it returns a truthy value. */
export type Predicate<E extends Event = Event> = (ev: E) => unknown;

/** Any handler, whatever event map its processor has. */
export type AnyHandler = {
  // biome-ignore lint/suspicious/noExplicitAny: a handler may be written for any processor's event map
  handle(proc: Processor<any>, ev: Event): HandlerResult;
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

interface MutableMeta {
  wants: WantSet[];
  requires: string[];
  requiredBy: string[];
}

// A global symbol, so handlers wrapped by another copy of this package (a plugin's own dependency)
// still carry metadata this copy can read.
const META: unique symbol = Symbol.for('@flow/evproc.handler-meta') as never;

type WithMeta = { [META]?: MutableMeta };

/** Describes a bad argument for an error message: strings quoted, the rest by type. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `array [${value.map(describeValue).join(', ')}]`;
  return `object ${Object.prototype.toString.call(value)}`;
}

function metaOf(handler: unknown, wrapper: string): MutableMeta {
  if (typeof handler !== 'function') {
    throw new TypeError(`${wrapper}(...) must wrap a handler function, got ${describeValue(handler)}`);
  }
  const holder = handler as WithMeta;
  let meta = holder[META];
  if (!Object.hasOwn(handler, META) || meta === undefined) {
    meta = { wants: [], requires: [], requiredBy: [] };
    Object.defineProperty(handler, META, {
      value: meta,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
  return meta;
}

/** Reads the metadata of a handler (empty when it was never wrapped). */
export function handlerMeta(handler: (...args: never[]) => unknown): HandlerMeta {
  const meta = Object.hasOwn(handler, META) ? (handler as WithMeta)[META] : undefined;
  return meta ?? { wants: [], requires: [], requiredBy: [] };
}

function handlerNames(wrapper: string, names: readonly unknown[]): string[] {
  if (names.length === 0) {
    throw new TypeError(`${wrapper}() needs at least one handler name, e.g. ${wrapper}('test_prepare')`);
  }
  for (const name of names) {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(
        `${wrapper}() takes handler names (non-empty strings), got ${describeValue(name)}; ` +
          `e.g. ${wrapper}('test_prepare')`,
      );
    }
  }
  return names as string[];
}

/**
 * Selects the events a handler runs for. Names match `ev.name` (any of them); predicates must all
 * return true (checked in order, stopping at the first false). Several `want` wrappers on one handler
 * are alternatives: the handler runs if any of them matches. No `want` at all: every event.
 * @example
 * const h = want('ev1', 'ev2')(want('ev3', (ev) => ev.ctxt === 'ok')(function h(proc, ev) {}));
 */
export function want<E extends Event = Event>(...filters: Array<string | Predicate<E>>): HandlerWrapper {
  if (filters.length === 0) {
    throw new TypeError(
      "want() needs at least one event name or predicate, e.g. want('deployed') or want((ev) => ev.ctxt.ok)",
    );
  }
  const names: string[] = [];
  const predicates: Predicate[] = [];
  for (const filter of filters) {
    if (typeof filter === 'string' && filter !== '') names.push(filter);
    else if (typeof filter === 'function') predicates.push(filter as Predicate);
    else {
      throw new TypeError(
        `want() takes event names (non-empty strings) and predicates (functions), got ${describeValue(filter)}`,
      );
    }
  }
  const set: WantSet = { names, predicates };
  return <F>(handler: F): F => {
    metaOf(handler, 'want').wants.push(set);
    return handler;
  };
}

/**
 * Makes a handler run after the named handlers. Each of them must be registered and want the
 * same events, or processing throws `RequirementsError`.
 * @example
 * const testRun = requires('test_prepare')(function test_run(proc, ev) {});
 */
export function requires(...names: string[]): HandlerWrapper {
  const checked = handlerNames('requires', names);
  return <F>(handler: F): F => {
    metaOf(handler, 'requires').requires.push(...checked);
    return handler;
  };
}

/**
 * Makes a handler run before the named handlers (as if they had `requires` on it). Names that are
 * not registered, or do not want the event, are ignored: nothing runs that would need this one first.
 * @example
 * const aux = requiredBy('test_run')(function test_auxiliary(proc, ev) {});
 */
export function requiredBy(...names: string[]): HandlerWrapper {
  const checked = handlerNames('requiredBy', names);
  return <F>(handler: F): F => {
    metaOf(handler, 'requiredBy').requiredBy.push(...checked);
    return handler;
  };
}
