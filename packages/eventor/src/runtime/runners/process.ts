import { type ChildProcess, fork } from 'node:child_process';
import { FlowDefinitionError, FlowError } from '../../errors.js';
import { abandon, recordEnded, recordStarted, terminateChild, trackChild } from './children.js';
import { entryPath } from './entry.js';
import { ChildExitError, describeExit } from './errors.js';
import { childExecArgv } from './exec-argv.js';
import { runMessage } from './invocation.js';
import { followOutput, formatTail } from './lines.js';
import { USE_PROCESS_GROUPS } from './process-group.js';
import { type DoneMessage, doneValue, type FromRunnerMessage, fromRemoteThrown } from './remote.js';
import type { StepInvocation } from './types.js';

/** After the child exits, how long to wait for its output to drain (a grandchild may hold the pipes). */
const DRAIN_MS = 500;

let nextCallId = 1;

/**
 * Runs a module step's export in a child process of its own (`taskConstruct: 'process'`):
 * `child_process.fork` of process-entry.js with an IPC channel; args and the result cross by
 * structured clone, a thrown error comes back with its name, message, stack and code. The child's
 * env is `process.env` + the step's `env` + the `<envPrefix>STEP_*` vars; its cwd the step's `cwd`;
 * its stdout and stderr reach the logger line by line. If the child dies before returning (exit,
 * signal, out of memory), only this step fails, with a `ChildExitError` that says how and shows the
 * last lines of stderr. When the step's signal aborts, the child gets SIGTERM (which aborts its
 * `currentStep().signal`), then SIGKILL after `KILL_GRACE_MS`; the step rejects with the abort reason.
 * The child leads a process group of its own, and the signals go to the whole group: what the step
 * started dies with it.
 */
export function runInProcess(invocation: StepInvocation): Promise<unknown> {
  const { step, context, logger } = invocation;
  const signal = context.signal;
  if (signal.aborted) return Promise.reject(signal.reason);
  const env = { ...step.env, ...invocation.env };
  const message = runMessage(invocation, nextCallId++, env);

  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = fork(entryPath('process-entry'), [], {
        ...(step.cwd !== undefined ? { cwd: step.cwd } : {}),
        env: { ...process.env, ...env },
        execArgv: childExecArgv(),
        serialization: 'advanced',
        detached: USE_PROCESS_GROUPS,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
    } catch (cause) {
      reject(cause);
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
    let terminating: Promise<void> | undefined;
    let done: DoneMessage | undefined;
    /** Our own refusal to start the step (args that cannot cross); the child was ended for it. */
    let argsError: FlowDefinitionError | undefined;
    /** The child could not be started, or its IPC channel failed. */
    let childError: Error | undefined;
    let settled = false;

    const finish = async (exitCode: number | null, exitSignal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      await drained(output, child);
      await terminating;
      recordEnded(child, invocation);
      if (signal.aborted) reject(signal.reason);
      else if (done?.ok) resolve(doneValue(done));
      else if (done) reject(fromRemoteThrown(done.error));
      else if (argsError !== undefined) reject(argsError);
      else if (child.pid === undefined) {
        reject(
          new FlowError(`Step "${step.name}": cannot start its child process: ${childError?.message}`, {
            code: 'FLOW_CHILD_START',
            cause: childError,
          }),
        );
      } else {
        const stderr = stderrTail.toArray();
        const stdout = stdoutTail.toArray();
        const channel = childError === undefined ? '' : ` (its IPC channel failed: ${childError.message})`;
        reject(
          new ChildExitError(
            `The child process of step "${step.name}" ${describeExit(exitCode, exitSignal)} before the step returned${channel}` +
              (stderr.length > 0 ? formatTail('stderr', stderr) : formatTail('stdout', stdout)),
            { exitCode, signal: exitSignal, stdoutTail: stdout, stderrTail: stderr },
            childError,
          ),
        );
      }
    };

    child.on('message', (received: FromRunnerMessage) => {
      if (received.type === 'log') logger[received.level](received.fields, received.msg);
      else if (received.type === 'done' && received.id === message.id) done = received;
    });
    child.once('error', (error) => {
      childError ??= error;
      if (child.pid === undefined) void finish(null, null);
      else if (child.exitCode === null && child.signalCode === null) void terminateChild(child);
    });
    child.once('exit', (code, exitSignal) => void finish(code, exitSignal));

    const onAbort = () => {
      terminating = terminateChild(child);
    };
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      child.send(message);
    } catch (cause) {
      argsError = new FlowDefinitionError(
        `Step "${step.name}": its args cannot be sent to a child process (${(cause as Error).message}); ` +
          'pass plain data (objects, arrays, strings, numbers).',
        { cause },
      );
      void terminateChild(child);
    }
  });
}

/** Waits for the child's output to end; gives up after DRAIN_MS when something else holds the pipes. */
export async function drained(output: Promise<unknown>, child: ChildProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DRAIN_MS);
  });
  await Promise.race([output, gaveUp]);
  clearTimeout(timer);
  child.stdout?.destroy();
  child.stderr?.destroy();
}
