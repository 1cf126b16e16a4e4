// Step module for worker and process steps of the crash harness: records the call, then works a while.
import { currentStep } from '@flow/eventor';
import { recordExecution } from './kit.mjs';

/**
 * Appends `{ s, q, r, a, pid, t }` to `file`, waits `sleepMs` (plus `firstRunMs` in recovery 0, so a
 * test can kill the engine while the step runs), returns the step name.
 */
export async function record(file, sleepMs, firstRunMs = 0) {
  const step = currentStep();
  recordExecution(file, {
    s: step.name,
    q: step.sequence,
    r: step.recovery,
    a: step.attempt,
    pid: process.pid,
    t: Date.now(),
  });
  const ms = sleepMs + (step.recovery === 0 ? firstRunMs : 0);
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  return step.name;
}
