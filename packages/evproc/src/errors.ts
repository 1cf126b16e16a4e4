/** Base class of every error @flow/evproc throws; `code` tells the cases apart without `instanceof`. */
export class EvprocError extends Error {
  readonly code: string;

  constructor(message: string, options: { code?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EvprocError';
    this.code = options.code ?? 'EVPROC_ERROR';
  }
}

/** A handler name was registered twice on the same processor. */
export class ReregisterError extends EvprocError {
  /** The name that is already taken. */
  readonly handler: string;

  constructor(handler: string, message: string) {
    super(message, { code: 'EVPROC_REREGISTER' });
    this.name = 'ReregisterError';
    this.handler = handler;
  }
}

/** Why a requirement could not be met: the required handler is not registered, or does not take the event. */
export interface MissingRequirement {
  /** The handler that declared `requires(...)`. */
  readonly handler: string;
  /** The handler it requires. */
  readonly requires: string;
  /** `'unregistered'`: no handler has that name; `'unselected'`: it exists but does not want this event. */
  readonly reason: 'unregistered' | 'unselected';
}

/**
 * The handlers selected for an event cannot be ordered: `.cycle` holds a cycle of names
 * (first name repeated at the end), or `.missing` the requirements that are not there.
 */
export class RequirementsError extends EvprocError {
  /** The event name whose handlers could not be ordered. */
  readonly event: string;
  /** A requirement cycle, e.g. `['a', 'b', 'a']`; empty when the problem is a missing requirement. */
  readonly cycle: readonly string[];
  /** Names of required handlers that are not registered or not selected; empty for a cycle. */
  readonly missing: readonly string[];
  /** One entry per unmet `requires` edge, saying who asked for what and why it is not there. */
  readonly details: readonly MissingRequirement[];

  constructor(
    message: string,
    fields: { event: string; cycle?: readonly string[]; details?: readonly MissingRequirement[] },
  ) {
    super(message, { code: fields.cycle ? 'EVPROC_REQUIREMENTS_CYCLE' : 'EVPROC_REQUIREMENTS_MISSING' });
    this.name = 'RequirementsError';
    this.event = fields.event;
    this.cycle = fields.cycle ?? [];
    this.details = fields.details ?? [];
    this.missing = [...new Set(this.details.map((d) => d.requires))];
  }
}

/** `ev.proc` was used against its rules: a namespace assigned or deleted, or a name starting with `_`. */
export class ProcNamespaceError extends EvprocError {
  /** The namespace (or field) name that was touched. */
  readonly namespace: string;

  constructor(namespace: string, message: string) {
    super(message, { code: 'EVPROC_PROC_NAMESPACE' });
    this.name = 'ProcNamespaceError';
    this.namespace = namespace;
  }
}

/**
 * Thrown by a handler to stop processing. `new StopProcessing()` skips the remaining handlers of
 * the current event only; `new StopProcessing(value)` (even `undefined` passed explicitly) makes
 * `process()` return `value` at once and drops the queued events.
 * @example
 * function auth(proc: Processor, ev: Event) {
 *   if (!ev.ctxt) throw new StopProcessing('denied');
 * }
 */
// A global brand, so a StopProcessing thrown by a handler built against another copy of this
// package (a plugin's own dependency) is still recognised.
const STOP_BRAND = Symbol.for('@flow/evproc.stop-processing');

export class StopProcessing extends Error {
  /** True when a value was passed, even `undefined`. */
  readonly hasValue: boolean;
  /** The value `process()` returns when `hasValue` is true. */
  readonly value: unknown;

  constructor(...args: [] | [value: unknown]) {
    super(args.length > 0 ? 'processing stopped with a value' : 'processing of this event stopped');
    this.name = 'StopProcessing';
    this.hasValue = args.length > 0;
    this.value = args[0];
  }
}

Object.defineProperty(StopProcessing.prototype, STOP_BRAND, { value: true });

/** True for a `StopProcessing`, from this copy of the package or another one. */
export function isStopProcessing(err: unknown): err is StopProcessing {
  return typeof err === 'object' && err !== null && (err as { [STOP_BRAND]?: unknown })[STOP_BRAND] === true;
}

/** Describes a bad argument for an error message: strings quoted, the rest by type. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `array [${value.map(describeValue).join(', ')}]`;
  return `object ${Object.prototype.toString.call(value)}`;
}
