import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { FlowError } from '../../errors.js';
import { abandon, recordEnded, recordStarted, terminateChild, trackChild } from './children.js';
import { ChildExitError, CommandNotFoundError, describeExit } from './errors.js';
import { followOutput, formatTail } from './lines.js';
import { drained } from './process.js';
import { USE_PROCESS_GROUPS } from './process-group.js';
import type { StepInvocation } from './types.js';

/** What a command step that exited 0 returns (and its task record keeps as `result`). */
export interface CommandResult {
  exitCode: 0;
  /** The last lines (up to 20) of stdout and of stderr. */
  stdoutTail: string[];
  stderrTail: string[];
}

/**
 * Runs a command step: `command: ['exe', ...args]` is spawned without a shell, a single string runs
 * in the shell. Its env is `process.env` + the step's `env` + the `<envPrefix>STEP_*` vars, its cwd
 * the step's `cwd`. stdout and stderr reach the step's logger line by line as they come (stdout at
 * info, stderr at warn, with field `stream`). Exit 0 resolves with a {@link CommandResult}; anything
 * else rejects with a `ChildExitError` whose message has the exit code (or signal) and the last lines
 * of stderr. The command leads a process group of its own: when the step's signal aborts, the group
 * (a shell's children too) gets SIGTERM, then SIGKILL after `KILL_GRACE_MS`, and the step rejects
 * with the abort reason. An executable that is not found fails with a `CommandNotFoundError`, which
 * is not retried.
 */
export function runCommand(invocation: StepInvocation): Promise<CommandResult> {
  const { step, context, logger } = invocation;
  const signal = context.signal;
  if (signal.aborted) return Promise.reject(signal.reason);
  const command = step.command as string | readonly string[];
  const shell = typeof command === 'string';
  const [file, ...args] = shell ? [command] : command;
  const shown = shell ? command : command.join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, ...step.env, ...invocation.env };

  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file as string, args, {
        ...(step.cwd !== undefined ? { cwd: step.cwd } : {}),
        env,
        shell,
        detached: USE_PROCESS_GROUPS,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (cause) {
      reject(
        new FlowError(`Step "${step.name}": cannot start command "${shown}": ${(cause as Error).message}`, {
          cause,
        }),
      );
      return;
    }
    trackChild(child);
    const unrecorded = recordStarted(child, invocation);
    if (unrecorded !== undefined) {
      abandon(child);
      reject(unrecorded);
      return;
    }
    const { stdoutTail, stderrTail, output } = followOutput(child, logger);
    let settled = false;
    let startError: Error | undefined;
    let terminating: Promise<void> | undefined;

    const finish = async (exitCode: number | null, exitSignal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      await drained(output, child);
      await terminating;
      recordEnded(child, invocation);
      const stdout = stdoutTail.toArray();
      const stderr = stderrTail.toArray();
      if (signal.aborted) reject(signal.reason);
      else if (startError !== undefined) reject(startFailure(invocation, shown, env, startError));
      else if (exitCode === 0) resolve({ exitCode: 0, stdoutTail: stdout, stderrTail: stderr });
      else {
        reject(
          new ChildExitError(
            `Command "${shown}" ${describeExit(exitCode, exitSignal)}` +
              (stderr.length > 0 ? formatTail('stderr', stderr) : formatTail('stdout', stdout)),
            { exitCode, signal: exitSignal, stdoutTail: stdout, stderrTail: stderr },
          ),
        );
      }
    };

    child.once('error', (error) => {
      if (child.pid === undefined) {
        startError = error;
        void finish(null, null);
      }
    });
    child.once('exit', (code, exitSignal) => void finish(code, exitSignal));

    const onAbort = () => {
      terminating = terminateChild(child);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Why a command could not start. ENOENT (the executable, or the cwd, is not there) cannot succeed
 * later, so it is a `CommandNotFoundError`, which is not retried.
 */
function startFailure(
  invocation: StepInvocation,
  shown: string,
  env: NodeJS.ProcessEnv,
  cause: Error,
): FlowError {
  const { step } = invocation;
  const start = `Step "${step.name}": cannot start command "${shown}": ${cause.message}`;
  if ((cause as NodeJS.ErrnoException).code !== 'ENOENT')
    return new FlowError(start, { code: 'FLOW_COMMAND_START', cause });
  const executable = (cause as NodeJS.ErrnoException).path ?? shown;
  const cwd = step.cwd ?? process.cwd();
  const path = env.PATH ?? env.Path ?? '';
  const where = existsSync(cwd)
    ? `"${executable}" was not found, looking from cwd "${cwd}" on PATH "${path}"`
    : `its cwd "${cwd}" does not exist (PATH "${path}")`;
  return new CommandNotFoundError(
    `${start}. ${where}. Check that the executable is installed and on that PATH (or give its full ` +
      'path) and that the cwd exists. Not retried: it cannot succeed later.',
    { cause },
  );
}
