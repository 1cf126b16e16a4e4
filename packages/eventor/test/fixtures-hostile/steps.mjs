// Step modules for worker and process steps of the soak and hostile-input tests (plain JS: a worker
// thread or child process loads them as they are).
import { threadId } from 'node:worker_threads';

/** The soak's worker step: a short wait, then who ran it. */
export async function soakReport(sequence) {
  await new Promise((resolve) => setTimeout(resolve, 2));
  return { sequence, threadId };
}

/** The size of what crossed into the worker or child, so a test can tell the args arrived whole. */
export function sizeOf(value) {
  return typeof value === 'string' ? value.length : JSON.stringify(value).length;
}

/** Whether the args kept their cycle (structured clone keeps it; JSON could not carry it). */
export function isCyclic(value) {
  return value !== null && typeof value === 'object' && value.self === value;
}

/** Returns `bytes` characters: a result far larger than a page. */
export function bigResult(bytes) {
  return 'r'.repeat(bytes);
}

export function returnBigInt() {
  return { total: 10n ** 30n };
}

export function returnCyclic() {
  const value = { name: 'cyclic' };
  value.self = value;
  return value;
}

export function throwNullPrototype() {
  throw Object.create(null);
}

export function returnsFunction() {
  return () => 1;
}
