import { FlowError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { unstorableReason } from '../../store/result-codec.js';
import { runInStepContext, type StepContext } from '../context.js';
import { loadExport } from './inline.js';
import {
  cloneableFields,
  type DoneMessage,
  type FromRunnerMessage,
  type RemoteLevel,
  type RunMessage,
  toRemoteError,
} from './remote.js';

/** Exports loaded in this thread or process: a pooled worker imports a step module once. */
const loaded = new Map<string, (...args: unknown[]) => unknown>();

async function loadCached(message: RunMessage): Promise<(...args: unknown[]) => unknown> {
  const key = `${message.url}\u0000${message.exportName}`;
  let func = loaded.get(key);
  if (func === undefined) {
    func = await loadExport(message.stepName, message.url, message.exportName);
    loaded.set(key, func);
  }
  return func;
}

/**
 * Calls a module step on the far side of a worker thread or child process, inside its own step
 * context: the entry script imports this file from the same tree as the package's index, so the
 * `currentStep()` a step module imports from '@flow/eventor' or '@flow/eventor/step' reads the
 * context set here.
 */
export async function callStep(
  message: RunMessage,
  signal: AbortSignal,
  send: (message: FromRunnerMessage) => void,
): Promise<DoneMessage> {
  const { id } = message;
  try {
    const func = await loadCached(message);
    const { virtualNow } = message;
    const context: StepContext = {
      ...message.identity,
      now: virtualNow === undefined ? Date.now : () => virtualNow,
      signal,
      log: remoteLogger(id, message.levels, send),
    };
    const value = await runInStepContext(context, () => func(...message.args));
    return { type: 'done', id, ok: true, value };
  } catch (error) {
    return { type: 'done', id, ok: false, error: toRemoteError(error) };
  }
}

/**
 * Sends `done`. A result that cannot be cloned goes back as `unstorable`, with the reason an inline
 * step returning it gets; anything else that cannot be sent becomes a failure that says so.
 */
export function sendDone(
  done: DoneMessage,
  stepName: string,
  where: string,
  send: (message: DoneMessage) => void,
): void {
  try {
    send(done);
  } catch (error) {
    if (done.ok) {
      send({
        type: 'done',
        id: done.id,
        ok: true,
        value: undefined,
        unstorable: unstorableReason(done.value, error),
      });
      return;
    }
    const reason = new FlowError(
      `Step "${stepName}" threw a value that cannot be sent back from ${where} (${(error as Error).message}).`,
      { code: 'FLOW_RESULT_NOT_CLONEABLE' },
    );
    send({ type: 'done', id: done.id, ok: false, error: toRemoteError(reason) });
  }
}

const LEVELS: RemoteLevel[] = ['debug', 'info', 'warn', 'error'];

/** `currentStep().log` over there: records cross to the engine's logger, which adds step and sequence. */
function remoteLogger(
  id: number,
  levels: readonly RemoteLevel[],
  send: (message: FromRunnerMessage) => void,
): Logger {
  const method = (level: RemoteLevel) => {
    if (!levels.includes(level)) return () => {};
    return (obj: unknown, msg?: string) => {
      if (typeof obj === 'string') send({ type: 'log', id, level, fields: {}, msg: obj });
      else send({ type: 'log', id, level, fields: cloneableFields(obj), msg });
    };
  };
  const [debug, info, warn, error] = LEVELS.map(method) as [
    Logger['debug'],
    Logger['info'],
    Logger['warn'],
    Logger['error'],
  ];
  return { debug, info, warn, error };
}
