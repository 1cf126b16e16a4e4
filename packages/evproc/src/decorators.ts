import { describeValue } from './errors.js';
import type { Event } from './event.js';
import type { HandlerMeta, HandlerWrapper, Predicate, WantSet } from './types.js';

interface MutableMeta {
  wants: WantSet[];
  requires: string[];
  requiredBy: string[];
}

// A global symbol, so handlers wrapped by another copy of this package (a plugin's own dependency)
// still carry metadata this copy can read.
const META: unique symbol = Symbol.for('@flow/evproc.handler-meta') as never;

type WithMeta = { [META]?: MutableMeta };

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
