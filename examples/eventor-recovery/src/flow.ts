import {
  currentStep,
  Eventor,
  type Logger,
  type LogLevel,
  type RunMode,
  StepReplay,
  StepStatus,
} from '@flow/eventor';

export function square(x: number): number {
  const y = x * x;
  currentStep().log.info(`Square of ${x} is ${y}`);
  return y;
}

export function squareRoot(x: number): number {
  // Math.sqrt(-9) would quietly return NaN; fail the way the seed's math.sqrt did
  if (x < 0) throw new RangeError(`math domain error: cannot take the square root of ${x}`);
  const y = Math.sqrt(x);
  currentStep().log.info(`Square root of ${x} is ${y}`);
  return y;
}

export function divide(x: number, y: number): number {
  const z = x / y;
  currentStep().log.info(`Dividing ${x} by ${y} is ${z}`);
  return z;
}

export interface RecoveryFlowOptions {
  store: string;
  runMode?: RunMode;
  /** What s2 takes the square root of: -9 makes it fail, 9 makes it pass. */
  param: number;
  logger?: Logger;
  logLevel?: LogLevel;
}

/**
 * The seed's recovery example. s1 squares 3 and, on success, fires done_step1 and run_step2;
 * s2 takes the square root of `param`; s3 divides 9 by 3 once both done_step1 and done_step2 fired.
 * Everything runs in sequence 3.
 */
export function buildRecoveryFlow({ param, ...options }: RecoveryFlowOptions): Eventor {
  const ev = new Eventor({ name: 'recovery', ...options });

  const ev1s = ev.addEvent('run_step1');
  const ev1d = ev.addEvent('done_step1');
  const ev2s = ev.addEvent('run_step2');
  const ev2d = ev.addEvent('done_step2');
  const ev3s = ev.addEvent('run_step3', { expr: [ev1d, ev2d] });

  const s1 = ev.addStep('s1', { func: square, args: [3], triggers: { [StepStatus.success]: [ev1d, ev2s] } });
  const s2 = ev.addStep('s2', {
    func: squareRoot,
    args: [param],
    triggers: { [StepStatus.success]: [ev2d] },
    // the default policy, spelled out: in a recovery, rerun what failed and skip what succeeded
    recovery: { [StepStatus.failure]: StepReplay.rerun, [StepStatus.success]: StepReplay.skip },
  });
  const s3 = ev.addStep('s3', { func: divide, args: [9, 3] });

  ev.addAssoc(ev1s, s1);
  ev.addAssoc(ev2s, s2);
  ev.addAssoc(ev3s, s3);

  ev.triggerEvent(ev1s, 3);
  return ev;
}
