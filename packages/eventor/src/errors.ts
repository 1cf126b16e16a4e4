/** Base class of every error flow throws; `code` tells cases apart without instanceof. */
export class FlowError extends Error {
  readonly code: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? 'FLOW_ERROR';
  }
}

/** A bad option: the message names the option, the value found and what is expected. */
export class FlowConfigError extends FlowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'FLOW_CONFIG', ...options });
  }
}

/** A bad event, step, assoc or expression definition. */
export class FlowDefinitionError extends FlowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'FLOW_DEFINITION', ...options });
  }
}

/** The store cannot be opened, is in use by a live run, or was written by a newer schema. */
export class StoreError extends FlowError {
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, { code: options?.code ?? 'FLOW_STORE', cause: options?.cause });
  }
}

/** A run's lease was taken over while its holder was silent; what a fenced commit throws. */
export function leaseLostError(runId: string, location: string): StoreError {
  return new StoreError(
    `Run "${runId}" in "${location}" was taken over by another process while this one was silent for longer ` +
      'than leaseTtl (paused, or blocked): this one writes nothing more. Let the new holder finish, or give a ' +
      'longer `leaseTtl` if steps block the event loop that long.',
    { code: 'FLOW_LEASE_LOST' },
  );
}

/** A step's failure; the message names the step and sequence, `cause` holds what the step threw. */
export class StepFailedError extends FlowError {
  readonly step: string;
  readonly sequence: string;
  constructor(step: string, sequence: string, reason: string, options?: { cause?: unknown; code?: string }) {
    super(`Step "${step}" failed in sequence "${sequence}": ${reason}`, {
      code: options?.code ?? 'FLOW_STEP_FAILED',
      cause: options?.cause,
    });
    this.step = step;
    this.sequence = sequence;
  }
}

// their one copy is in describe.ts
export { describeThrown, type SerializedError, serializeError } from './describe.js';
