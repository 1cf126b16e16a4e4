import { FlowDefinitionError } from '../../errors.js';
import { KILL_GRACE_MS } from './children.js';
import { entryPath } from './entry.js';
import { runMessage } from './invocation.js';
import { type PooledWorker, WorkerPool } from './pool.js';
import { doneValue, type FromRunnerMessage, fromRemoteThrown, toRemoteError } from './remote.js';
import type { StepInvocation } from './types.js';

/** The worker threads every worker step of this process shares. */
export const workerPool = new WorkerPool(() => entryPath('worker-entry'));

let nextCallId = 1;

/** Aborted worker steps not yet ended (they finish, or their worker is terminated after the grace). */
const aborting = new Set<Promise<void>>();

/** Resolves when every worker step aborted so far has ended. */
export async function abortedWorkersEnded(): Promise<void> {
  while (aborting.size > 0) await Promise.all([...aborting]);
}

/**
 * Runs a module step's export in a pooled worker thread (`taskConstruct: 'worker'`). Args and the
 * result cross by structured clone; a thrown error comes back with its name, message, stack and code.
 * Inside, `currentStep()` works, its `log` reaches this step's logger, and the step's env vars are set
 * in `process.env` during the call (the step's `cwd` does not apply: threads share the process's cwd;
 * use a process step for that). When the step's signal aborts, the worker's signal aborts too; a
 * worker that has not finished `KILL_GRACE_MS` later is terminated and replaced, and the step rejects
 * with the abort reason.
 */
export async function runInWorker(invocation: StepInvocation): Promise<unknown> {
  const { step, context, logger } = invocation;
  const signal = context.signal;
  const pooled = await workerPool.acquire(signal);
  return new Promise((resolve, reject) => {
    const id = nextCallId++;
    let graceTimer: NodeJS.Timeout | undefined;
    let ended: (() => void) | undefined;

    const settle = (keepWorker: boolean, outcome: () => void) => {
      pooled.task = undefined;
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      ended?.();
      signal.removeEventListener('abort', onAbort);
      if (keepWorker) workerPool.release(pooled);
      else workerPool.discard(pooled);
      outcome();
    };

    pooled.task = {
      onMessage(message: FromRunnerMessage) {
        if (message.id !== id) return;
        if (message.type === 'log') {
          logger[message.level](message.fields, message.msg);
          return;
        }
        settle(true, () => {
          if (signal.aborted) reject(signal.reason);
          else if (message.ok) resolve(doneValue(message));
          else reject(fromRemoteThrown(message.error));
        });
      },
      onCrash(error: Error) {
        settle(false, () => reject(signal.aborted ? signal.reason : error));
      },
    };

    const onAbort = () => {
      const done = new Promise<void>((resolve) => {
        ended = resolve;
      });
      aborting.add(done);
      void done.then(() => aborting.delete(done));
      post(pooled, { type: 'abort', id, reason: toRemoteError(signal.reason) });
      graceTimer = setTimeout(() => settle(false, () => reject(signal.reason)), KILL_GRACE_MS);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      pooled.worker.postMessage(runMessage(invocation, id, { ...step.env, ...invocation.env }));
    } catch (cause) {
      settle(true, () =>
        reject(
          new FlowDefinitionError(
            `Step "${step.name}": its args cannot be sent to a worker thread (${(cause as Error).message}); ` +
              'pass plain data (objects, arrays, strings, numbers).',
            { cause },
          ),
        ),
      );
    }
  });
}

function post(pooled: PooledWorker, message: unknown): void {
  try {
    pooled.worker.postMessage(message);
  } catch {
    // the worker is gone; its exit fails the step
  }
}
