import { describeThrown } from '../describe.js';
import type { Logger } from '../logger.js';

/** Follows a run as it goes (the live progress view uses it); every method is optional. */
export interface RunObserver {
  runStarted?(info: { runId: string; recovery: number; steps: readonly string[] }): void;
  taskStarted?(task: { step: string; sequence: string; attempt: number }): void;
  taskEnded?(task: { step: string; sequence: string; status: 'success' | 'failure'; skipped: boolean }): void;
  runEnded?(outcome: { ok: boolean; status: 'success' | 'failure' | 'incomplete' }): void;
}

const METHODS = ['runStarted', 'taskStarted', 'taskEnded', 'runEnded'] as const;

/**
 * The observer with every call guarded: what it throws (or an async method rejects with) is logged
 * and changes nothing, since the run loop calls it in the middle of recording a task's end.
 */
export function guardObserver(observer: RunObserver | undefined, logger: Logger): RunObserver | undefined {
  if (observer === undefined) return undefined;
  const report = (method: string, error: unknown) =>
    logger.warn(
      { err: error, observer: method },
      `The run's observer threw in ${method}(): ${describeThrown(error)}. Ignored; the run goes on.`,
    );
  const guarded: RunObserver = {};
  for (const method of METHODS) {
    guarded[method] = (info: never) => {
      try {
        const fn = observer[method] as ((info: never) => unknown) | undefined;
        if (typeof fn !== 'function') return;
        const out = fn.call(observer, info);
        if (isThenable(out)) out.then(undefined, (error: unknown) => report(method, error));
      } catch (error) {
        report(method, error);
      }
    };
  }
  return guarded;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}
