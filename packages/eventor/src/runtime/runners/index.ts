import type { StepDef, TaskConstruct } from '../../model/step.js';
import { childrenTerminated, liveChildCount } from './children.js';
import { runCommand } from './command.js';
import { runInline, runModuleInline } from './inline.js';
import { runInProcess } from './process.js';
import type { StepRunner } from './types.js';
import { abortedWorkersEnded, runInWorker, workerPool } from './worker.js';

export type { CommandResult } from './command.js';
export { ChildExitError, CommandNotFoundError, cannotSucceedLater } from './errors.js';
export { encodeChild, endOrphans } from './orphans.js';
export type { ChildIdentity } from './process-group.js';
export type { StepInvocation, StepRunner } from './types.js';

/** What the runners may size themselves by. */
export interface RunnerLimits {
  /** The eventor's cap on tasks running at once; < 1 = none. The worker pool grows to it. */
  maxConcurrent?: number;
}

/**
 * Picks the runner for a step; `construct` is the step's task construct after inheritance.
 * Module steps run inline, in a pooled worker thread or in a child process by construct; command
 * steps always run as a spawned command; a step with nothing to run has no runner.
 */
export function selectRunner(
  step: StepDef,
  construct: TaskConstruct,
  limits: RunnerLimits = {},
): StepRunner | undefined {
  switch (step.kind) {
    case 'noop':
      return undefined;
    case 'function':
      return runInline;
    case 'command':
      return runCommand;
    case 'module':
      if (construct === 'worker') {
        const cap = limits.maxConcurrent ?? -1;
        if (cap > 0) workerPool.raiseLimit(cap);
        return runInWorker;
      }
      return construct === 'process' ? runInProcess : runModuleInline;
  }
}

/**
 * Call when a run ends: terminates idle pooled workers and waits until every child process or worker
 * that a stopped or timed-out step was told to end has gone (at most about `KILL_GRACE_MS`). Workers
 * and children still busy with another run's steps are left alone; the pool refills on demand.
 */
export async function disposeRunners(): Promise<void> {
  const workers = abortedWorkersEnded().then(() => workerPool.dispose());
  await Promise.all([workers, childrenTerminated()]);
}

/** Pooled workers and live child processes (for tests and diagnostics). */
export function runnerStats(): {
  workers: number;
  busyWorkers: number;
  waitingForWorker: number;
  children: number;
} {
  const pool = workerPool.stats();
  return {
    workers: pool.workers,
    busyWorkers: pool.busy,
    waitingForWorker: pool.waiting,
    children: liveChildCount(),
  };
}
