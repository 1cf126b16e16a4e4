import type { ScopedLogger } from '../../logger.js';
import type { StepDef } from '../../model/step.js';
import type { StepContext } from '../context.js';
import type { ChildIdentity } from './process-group.js';

/** Everything a runner needs to execute one attempt of a step. */
export interface StepInvocation {
  readonly step: StepDef;
  readonly context: StepContext;
  /** `<envPrefix>STEP_NAME`, `STEP_SEQUENCE`, `STEP_RECOVERY`, `RUN_ID` for worker/process/command steps. */
  readonly env: Record<string, string>;
  readonly logger: ScopedLogger;
  /** The TestClock's time at the start of the attempt; undefined on the system clock. */
  readonly virtualNow: number | undefined;
  /**
   * Called by the command and process runners right after their child starts: the task keeps it in
   * the store, so a recovery after this engine was killed can end the orphan before rerunning the
   * step. Throws when it could not be recorded.
   */
  recordChild?(child: ChildIdentity): void;
  /** Called once the child `pid` and its process group are gone: the task's record of it is dropped. */
  forgetChild?(pid: number): void;
}

/**
 * Runs one attempt of a step: returns its value (or a promise of it); throws or rejects on failure.
 * A runner must stop its work when `context.signal` aborts.
 */
export type StepRunner = (invocation: StepInvocation) => unknown;
