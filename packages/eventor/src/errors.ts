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

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: SerializedError;
}

/** A plain record of a thrown value; never throws, whatever was thrown (proxies, hostile getters). */
export function serializeError(error: unknown, depth = 0): SerializedError {
  try {
    return serializeErrorOf(error, depth);
  } catch {
    return { name: 'NonError', message: describeThrown(error) };
  }
}

function serializeErrorOf(error: unknown, depth: number): SerializedError {
  if (error instanceof Error) {
    const out: SerializedError = { name: error.name, message: error.message };
    if (error.stack !== undefined) out.stack = error.stack;
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') out.code = code;
    if (error.cause !== undefined && depth < 3) out.cause = serializeError(error.cause, depth + 1);
    return out;
  }
  return { name: 'NonError', message: describeThrown(error) };
}

/** Says what a step threw, in one line; never throws, whatever the value does when looked at. */
export function describeThrown(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    if (typeof value === 'string') return `threw ${JSON.stringify(value)}`;
    const json = JSON.stringify(value);
    return `threw ${json ?? String(value)}`;
  } catch {
    try {
      return `threw ${Object.prototype.toString.call(value)}`;
    } catch {
      return 'threw a value that cannot be described';
    }
  }
}
