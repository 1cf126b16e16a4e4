/**
 * The script a pooled worker thread runs: it calls one module step at a time, in the step's context,
 * with the step's env vars set in `process.env` for the duration of the call.
 */
import { parentPort } from 'node:worker_threads';
import { fromRemoteError, type RunMessage, type ToRunnerMessage } from './remote.js';
import { callStep, sendDone } from './remote-call.js';

if (!parentPort)
  throw new Error(
    'worker-entry.js is started by @flow/eventor in a worker thread; it does nothing on its own.',
  );
const port = parentPort;

let current: { id: number; controller: AbortController } | undefined;

port.on('message', (message: ToRunnerMessage) => {
  if (message.type === 'abort') {
    if (current?.id === message.id) current.controller.abort(fromRemoteError(message.reason));
    return;
  }
  void run(message);
});

async function run(message: RunMessage): Promise<void> {
  const controller = new AbortController();
  current = { id: message.id, controller };
  const restoreEnv = applyEnv(message.env);
  let done: Awaited<ReturnType<typeof callStep>>;
  try {
    done = await callStep(message, controller.signal, (out) => port.postMessage(out));
  } finally {
    restoreEnv();
    current = undefined;
  }
  sendDone(done, message.stepName, 'a worker thread', (out) => port.postMessage(out));
}

/** A worker's `process.env` is its own copy: set the step's vars, and put back what was there after. */
function applyEnv(env: Record<string, string>): () => void {
  const previous: Array<[string, string | undefined]> = [];
  for (const [key, value] of Object.entries(env)) {
    previous.push([key, process.env[key]]);
    process.env[key] = value;
  }
  return () => {
    for (const [key, value] of previous.reverse()) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
