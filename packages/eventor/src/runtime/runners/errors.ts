import { FlowError } from '../../errors.js';

/**
 * A command, or the child process of a process step, ended without success: `exitCode` or `signal`
 * says how, and the message carries the last lines of its stderr (or stdout when stderr was empty).
 */
export class ChildExitError extends FlowError {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdoutTail: string[];
  readonly stderrTail: string[];

  constructor(
    message: string,
    details: {
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      stdoutTail: string[];
      stderrTail: string[];
    },
    cause?: unknown,
  ) {
    super(message, { code: details.signal === null ? 'FLOW_CHILD_EXIT' : 'FLOW_CHILD_SIGNAL', cause });
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stdoutTail = details.stdoutTail;
    this.stderrTail = details.stderrTail;
  }
}

/** "exited with code 3" or "was killed by signal SIGKILL". */
export function describeExit(exitCode: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `was killed by signal ${signal}`;
  return `exited with code ${exitCode ?? 'unknown'}`;
}

/**
 * A command whose executable (or cwd) is not there (`spawn … ENOENT`). It cannot succeed on a later
 * attempt, so the step fails at once, whatever its `retries`.
 */
export class CommandNotFoundError extends FlowError {
  constructor(message: string, options: { cause: unknown }) {
    super(message, { code: 'FLOW_COMMAND_NOT_FOUND', cause: options.cause });
  }
}

/** Whether a failed attempt (or what it wraps) cannot succeed if tried again, so retries are skipped. */
export function cannotSucceedLater(error: unknown): boolean {
  for (let depth = 0; depth < 3 && error instanceof Error; depth++) {
    if (error instanceof CommandNotFoundError) return true;
    error = error.cause;
  }
  return false;
}
