/**
 * The messages between the engine and a worker thread or forked child running a module step, and how
 * errors and log fields cross. Loaded by the entry scripts, so it must stay free of heavy imports.
 */
import { errorRecord } from '../../describe.js';
import { UnstorableResult } from '../../store/result-codec.js';

/** Who the step is, as `currentStep()` reports it on the other side. */
export interface RemoteIdentity {
  name: string;
  sequence: string;
  recovery: number;
  runId: string;
  attempt: number;
}

export type RemoteLevel = 'debug' | 'info' | 'warn' | 'error';

/** Engine -> runner: call `exportName` of the module at `url` with `args`. */
export interface RunMessage {
  type: 'run';
  id: number;
  url: string;
  exportName: string;
  args: readonly unknown[];
  identity: RemoteIdentity;
  /** Set in `process.env` for the duration of the call (worker) or for the child (process). */
  env: Record<string, string>;
  /** Levels the engine's logger keeps; the others are dropped before they cross. */
  levels: RemoteLevel[];
  stepName: string;
  /** Set under a TestClock: what `currentStep().now()` returns over there (the time the step started). */
  virtualNow?: number;
}

/** Engine -> worker: abort the signal of call `id`. */
export interface AbortMessage {
  type: 'abort';
  id: number;
  reason: RemoteError;
}

export type ToRunnerMessage = RunMessage | AbortMessage;

export interface LogMessage {
  type: 'log';
  id: number;
  level: RemoteLevel;
  fields: Record<string, unknown>;
  msg: string | undefined;
}

/**
 * `unstorable`: the step returned a value that cannot cross (a function, a symbol), and why, as
 * `unstorableReason` says it: the engine fails the step as it fails an inline step returning it.
 */
export type DoneMessage =
  | { type: 'done'; id: number; ok: true; value: unknown; unstorable?: string }
  | { type: 'done'; id: number; ok: false; error: RemoteError };

/** The value a step's `done` carries, as the engine stores it (see store/result-codec.ts). */
export function doneValue(done: DoneMessage & { ok: true }): unknown {
  return done.unstorable === undefined ? done.value : new UnstorableResult(done.unstorable);
}

export type FromRunnerMessage = LogMessage | DoneMessage;

/** An error as it crosses: what `Error` keeps of it, so it can be rebuilt with name and stack intact. */
export interface RemoteError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: RemoteError;
  /** Set when something other than an Error was thrown; `message` then describes it. */
  nonError?: boolean;
}

export function toRemoteError(error: unknown, depth = 0): RemoteError {
  if (error instanceof Error) return errorRecord<RemoteError>(error, depth, 4, toRemoteError);
  return { name: 'Error', message: describe(error), nonError: true };
}

/** Rebuilds an Error on this side with the name, message, stack, code and cause it had over there. */
export function fromRemoteError(remote: RemoteError): Error {
  const options = remote.cause === undefined ? undefined : { cause: fromRemoteError(remote.cause) };
  const error = new Error(remote.message, options);
  // an own property, so a rebuilt error prints and serializes under the name the step gave it
  Object.defineProperty(error, 'name', {
    value: remote.name,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  if (remote.stack !== undefined) error.stack = remote.stack;
  if (remote.code !== undefined) (error as Error & { code?: string }).code = remote.code;
  return error;
}

/** What the step threw, rebuilt: an Error as {@link fromRemoteError}, anything else as its description. */
export function fromRemoteThrown(remote: RemoteError): unknown {
  return remote.nonError ? remote.message : fromRemoteError(remote);
}

/** Log fields that can cross by structured clone even when they hold errors, functions or cycles. */
export function cloneableFields(fields: unknown): Record<string, unknown> {
  if (typeof fields !== 'object' || fields === null) return {};
  try {
    structuredClone(fields);
    if (!containsError(fields)) return fields as Record<string, unknown>;
  } catch {
    // fall through: make a JSON-safe copy
  }
  try {
    return JSON.parse(
      JSON.stringify(fields, (_key, value: unknown) => {
        if (value instanceof Error) return toRemoteError(value);
        if (typeof value === 'bigint') return value.toString();
        if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
        return value;
      }),
    ) as Record<string, unknown>;
  } catch (error) {
    return { fieldsError: `log fields could not be sent: ${(error as Error).message}` };
  }
}

function containsError(fields: object): boolean {
  for (const value of Object.values(fields)) if (value instanceof Error) return true;
  return false;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
