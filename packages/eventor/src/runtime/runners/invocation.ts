import type { ScopedLogger } from '../../logger.js';
import { moduleUrl } from './inline.js';
import type { RemoteLevel, RunMessage } from './remote.js';
import type { StepInvocation } from './types.js';

const LEVELS: RemoteLevel[] = ['debug', 'info', 'warn', 'error'];

/** The `run` message for a module step in a worker thread or child process. */
export function runMessage(invocation: StepInvocation, id: number, env: Record<string, string>): RunMessage {
  const { step, context, logger, virtualNow } = invocation;
  return {
    ...(virtualNow === undefined ? {} : { virtualNow }),
    type: 'run',
    id,
    url: moduleUrl(step.module as string),
    exportName: step.exportName,
    args: step.args,
    identity: {
      name: context.name,
      sequence: context.sequence,
      recovery: context.recovery,
      runId: context.runId,
      attempt: context.attempt,
    },
    env,
    levels: enabledLevels(logger),
    stepName: step.name,
  };
}

function enabledLevels(logger: ScopedLogger): RemoteLevel[] {
  return typeof logger.enabled === 'function' ? LEVELS.filter((level) => logger.enabled(level)) : LEVELS;
}
