import type { ScopedLogger } from '../../logger.js';
import type { StepDef } from '../../model/step.js';
import type { StepContext } from '../context.js';

/** Everything a runner needs to execute one attempt of a step. */
export interface StepInvocation {
  readonly step: StepDef;
  readonly context: StepContext;
  /** `<envPrefix>STEP_NAME`, `STEP_SEQUENCE`, `STEP_RECOVERY`, `RUN_ID` for worker/process/command steps. */
  readonly env: Record<string, string>;
  readonly logger: ScopedLogger;
  /** The TestClock's time at the start of the attempt; undefined on the system clock. */
  readonly virtualNow: number | undefined;
}

/**
 * Runs one attempt of a step: returns its value (or a promise of it); throws or rejects on failure.
 * A runner must stop its work when `context.signal` aborts.
 */
export type StepRunner = (invocation: StepInvocation) => unknown;
