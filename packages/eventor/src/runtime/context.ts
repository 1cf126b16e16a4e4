import { AsyncLocalStorage } from 'node:async_hooks';
import { FlowError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Who the running step is; what `currentStep()` returns inside any step. */
export interface StepContext {
  readonly name: string;
  readonly sequence: string;
  readonly recovery: number;
  readonly runId: string;
  readonly attempt: number;
  /**
   * The Eventor's clock, in ms since the epoch: Date.now() by default, virtual under a TestClock.
   * In worker and process steps a TestClock's time is the one at the step's start.
   */
  now(): number;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

const storage = new AsyncLocalStorage<StepContext>();

/** The running step's identity, signal and logger; throws outside a step. */
export function currentStep(): StepContext {
  const context = storage.getStore();
  if (!context) {
    throw new FlowError(
      'currentStep() was called outside a running step. Call it from inside a step function (or code it awaits).',
      { code: 'FLOW_NO_CURRENT_STEP' },
    );
  }
  return context;
}

/** The running step's context, or undefined outside a step. */
export function activeStepContext(): StepContext | undefined {
  return storage.getStore();
}

export function runInStepContext<T>(context: StepContext, fn: () => T): T {
  return storage.run(context, fn);
}
