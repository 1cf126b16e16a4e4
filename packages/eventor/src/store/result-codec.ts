/**
 * How a step's result is stored: `node:v8` serialization, the structured clone algorithm that worker
 * threads and process steps (`serialization: 'advanced'`) already carry results with, so a result
 * reads back as it was returned (Date, Map, Set, BigInt, RegExp, typed arrays, undefined, NaN, shared
 * and circular references), whatever construct ran the step. Chosen over a codec such as `devalue`:
 * it is built into Node (no dependency), handles typed arrays and Errors as well, is written in C++,
 * and gives the same answers as the structured clone that worker and process steps cross by.
 * Loaded by the worker and process entry scripts, so it imports nothing heavy.
 */
import { isProxy } from 'node:util/types';
import { deserialize, serialize } from 'node:v8';

export type EncodedResult = { ok: true; bytes: Buffer | null } | { ok: false; reason: string };

/**
 * What a worker or process step returned when its value could not cross back (a function, a
 * symbol): the runner resolves with it, so the step fails exactly as an inline step returning that
 * value does.
 */
export class UnstorableResult {
  constructor(readonly reason: string) {}
}

/** A result as the store keeps it: null for undefined; a reason when it cannot be stored. */
export function encodeResult(value: unknown): EncodedResult {
  if (value === undefined) return { ok: true, bytes: null };
  if (value instanceof UnstorableResult) return { ok: false, reason: value.reason };
  try {
    return { ok: true, bytes: serialize(value) };
  } catch (error) {
    return { ok: false, reason: unstorableReason(value, error) };
  }
}

/** Reads a stored result back: `resultV8` bytes, or the JSON that stores before them kept. */
export function decodeResult(row: { resultV8: Buffer | null; result: string | null }): {
  has: boolean;
  value: unknown;
} {
  if (row.resultV8 !== null) return { has: true, value: deserialize(row.resultV8) };
  if (row.result !== null) return { has: true, value: JSON.parse(row.result) };
  return { has: false, value: undefined };
}

/** The stored result as `resultV8` bytes, whichever way it was stored (a skipped task copies it). */
export function resultBytes(row: { resultV8: Buffer | null; result: string | null }): Buffer | null {
  if (row.resultV8 !== null) return row.resultV8;
  return row.result === null ? null : serialize(JSON.parse(row.result));
}

/**
 * Why `value` cannot be stored, naming what in it cannot (its type, and where it sits): e.g.
 * "its result cannot be stored: it holds a function (at .rows[2].format)".
 */
export function unstorableReason(value: unknown, error: unknown): string {
  const found = findUncloneable(value);
  const what =
    found === undefined
      ? `it holds a value structured clone cannot copy (${describeError(error)})`
      : `${found.path === '' ? 'it is' : 'it holds'} ${found.type}${found.path === '' ? '' : ` (at ${found.path})`}`;
  return (
    `its result cannot be stored: ${what}. Return data that structured clone can copy ` +
    '(objects, arrays, strings, numbers, Date, Map, Set, BigInt, typed arrays), not functions or symbols'
  );
}

/** How many values the search for the culprit looks at before giving up (a result may be huge). */
const SEARCH_LIMIT = 100_000;

function findUncloneable(root: unknown): { type: string; path: string } | undefined {
  const seen = new Set<unknown>();
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '' }];
  let visited = 0;
  while (stack.length > 0 && visited++ < SEARCH_LIMIT) {
    const { value, path } = stack.pop() as { value: unknown; path: string };
    const type = uncloneableType(value);
    if (type !== undefined) return { type, path };
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    try {
      if (value instanceof Map) {
        let i = 0;
        for (const [key, item] of value) {
          stack.push({ value: item, path: `${path}.get(${describeKey(key)})` });
          stack.push({ value: key, path: `${path} key #${i++}` });
        }
      } else if (value instanceof Set) {
        let i = 0;
        for (const item of value) stack.push({ value: item, path: `${path} item #${i++}` });
      } else if (!ArrayBuffer.isView(value)) {
        for (const key of Object.keys(value).reverse()) {
          const step = Array.isArray(value) && /^\d+$/.test(key) ? `[${key}]` : `.${key}`;
          stack.push({ value: (value as Record<string, unknown>)[key], path: `${path}${step}` });
        }
      }
    } catch {
      // a hostile getter or proxy: the clone error describes it
    }
  }
  return undefined;
}

function uncloneableType(value: unknown): string | undefined {
  if (isProxy(value)) return 'a Proxy';
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value === 'symbol') return `a symbol (${String(value)})`;
  if (value instanceof WeakMap) return 'a WeakMap';
  if (value instanceof WeakSet) return 'a WeakSet';
  if (value instanceof Promise) return 'a Promise';
  return undefined;
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
