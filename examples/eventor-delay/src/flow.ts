import {
  currentStep,
  type Duration,
  Eventor,
  type Logger,
  type LogLevel,
  type RunMode,
  StepStatus,
} from '@flow/eventor';

export interface Execution {
  step: string;
  sequence: string;
  /** Date.now() when the step started. */
  at: number;
}

export interface DelayFlowOptions {
  store: string;
  runMode?: RunMode;
  /** Delay of the assocs run_step2 -> s2 and run_step3 -> s3 (the seed used 10 seconds). */
  delay?: Duration;
  logger?: Logger;
  logLevel?: LogLevel;
}

/**
 * The seed's delay example: s1 -> s2 -> s3 in sequence 1, where s2 and s3 start `delay` after the
 * event that triggers them. The delays are kept in the store, so a later `continue` run picks them up.
 */
export function buildDelayFlow({ delay = 300, ...options }: DelayFlowOptions) {
  const ev = new Eventor({ name: 'delay', ...options });
  const executions: Execution[] = [];
  const prog = (progname: string) => {
    const step = currentStep();
    executions.push({ step: step.name, sequence: step.sequence, at: Date.now() });
    step.log.info(`doing what ${progname} is doing`);
    step.log.info(`step sequence: ${step.sequence}`);
    return progname;
  };

  const ev1s = ev.addEvent('run_step1');
  const ev2s = ev.addEvent('run_step2');
  const ev3s = ev.addEvent('run_step3');

  const s1 = ev.addStep('s1', { func: prog, args: ['prog1'], triggers: { [StepStatus.success]: [ev2s] } });
  const s2 = ev.addStep('s2', { func: prog, args: ['prog2'], triggers: { [StepStatus.success]: [ev3s] } });
  const s3 = ev.addStep('s3', { func: prog, args: ['prog3'] });

  ev.addAssoc(ev1s, s1, { delay: 0 });
  ev.addAssoc(ev2s, s2, { delay });
  ev.addAssoc(ev3s, s3, { delay });

  // in a continue run the event already fired, so this does nothing (and returns false)
  ev.triggerEvent(ev1s, 1);
  return { ev, executions };
}
