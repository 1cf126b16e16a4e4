/**
 * The script a process step's child runs (`child_process.fork` with an IPC channel): it calls the
 * step once, in the step's context, sends the outcome and exits. SIGTERM, or the engine going away,
 * aborts the step's signal and ends the child soon after, whether or not the step cooperates.
 */
import { FlowError } from '../../errors.js';
import {
  type DoneMessage,
  type FromRunnerMessage,
  fromRemoteError,
  type RunMessage,
  type ToRunnerMessage,
} from './remote.js';
import { callStep, sendDone } from './remote-call.js';

/** How long an aborted step gets to wind down before the child exits anyway (the engine waits longer). */
const WIND_DOWN_MS = 1_000;
/** After the result is out, how long leftover timers or sockets of the step may hold the child. */
const LINGER_MS = 200;

const channel = process.send?.bind(process);
if (!channel)
  throw new Error(
    'process-entry.js is started by @flow/eventor as a forked child; it does nothing on its own.',
  );

const controller = new AbortController();
let started = false;

function send(message: FromRunnerMessage, callback?: (error: Error | null) => void): void {
  if (!process.connected) return;
  (channel as NonNullable<typeof channel>)(message, undefined, {}, callback);
}

function windDown(reason: Error): void {
  controller.abort(reason);
  setTimeout(() => process.exit(143), WIND_DOWN_MS);
}

const onTerm = () =>
  windDown(new FlowError('Stopped: the engine sent SIGTERM to this step', { code: 'FLOW_STOPPED' }));
const onDisconnect = () =>
  windDown(new FlowError('Stopped: the engine that started this step is gone', { code: 'FLOW_STOPPED' }));
process.once('SIGTERM', onTerm);
process.once('disconnect', onDisconnect);

process.on('message', (message: ToRunnerMessage) => {
  if (message.type === 'abort') {
    controller.abort(fromRemoteError(message.reason));
    return;
  }
  if (started) return;
  started = true;
  void run(message);
});

async function run(message: RunMessage): Promise<void> {
  const done = await callStep(message, controller.signal, (out) => send(out));
  sendDone(done, message.stepName, 'a child process', (out: DoneMessage) => {
    // cloning happens here, so a value that cannot cross throws now and sendDone reports it
    send(out, () => finish());
  });
}

function finish(): void {
  process.off('disconnect', onDisconnect);
  process.disconnect();
  setTimeout(() => process.exit(), LINGER_MS).unref();
}
