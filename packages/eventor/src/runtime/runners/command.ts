import { type ChildProcess, spawn } from 'node:child_process';
import { FlowError } from '../../errors.js';
import { terminateChild, trackChild } from './children.js';
import { ChildExitError, describeExit } from './errors.js';
import { followOutput, formatTail } from './lines.js';
import { drained } from './process.js';
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
 * of stderr. When the step's signal aborts, the command gets SIGTERM, then SIGKILL after
 * `KILL_GRACE_MS`, and the step rejects with the abort reason. A shell command's own children are not
 * signalled: use `exec` in the string (`'exec long-job --flag'`) when that matters.
 */
export function runCommand(invocation: StepInvocation): Promise<CommandResult> {
  const { step, context, logger } = invocation;
  const signal = context.signal;
  if (signal.aborted) return Promise.reject(signal.reason);
  const command = step.command as string | readonly string[];
  const shell = typeof command === 'string';
  const [file, ...args] = shell ? [command] : command;
  const shown = shell ? command : command.join(' ');

  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file as string, args, {
        ...(step.cwd !== undefined ? { cwd: step.cwd } : {}),
        env: { ...process.env, ...step.env, ...invocation.env },
        shell,
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
    const { stdoutTail, stderrTail, output } = followOutput(child, logger);
    let settled = false;
    let startError: Error | undefined;

    const finish = async (exitCode: number | null, exitSignal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      await drained(output, child);
      const stdout = stdoutTail.toArray();
      const stderr = stderrTail.toArray();
      if (signal.aborted) reject(signal.reason);
      else if (startError !== undefined) {
        const hint =
          (startError as NodeJS.ErrnoException).code === 'ENOENT'
            ? ' (is it installed and on PATH? is cwd right?)'
            : '';
        reject(
          new FlowError(
            `Step "${step.name}": cannot start command "${shown}": ${startError.message}${hint}`,
            {
              code: 'FLOW_COMMAND_START',
              cause: startError,
            },
          ),
        );
      } else if (exitCode === 0) resolve({ exitCode: 0, stdoutTail: stdout, stderrTail: stderr });
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

    const onAbort = () => void terminateChild(child);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
