import { currentStep, Eventor, type Logger, type LogLevel, StepStatus } from '@flow/eventor';

export interface SimpleFlow {
  ev: Eventor;
  /** What each step said it did, in the order it did it. */
  lines: string[];
}

/**
 * The seed's simple example: three steps chained by events. s1 runs when run_step1 fires; each
 * step's success fires the next step's event, so s1, s2 and s3 run one after another in sequence 1.
 */
export function buildSimpleFlow(options: {
  store: string;
  logger?: Logger;
  logLevel?: LogLevel;
}): SimpleFlow {
  const ev = new Eventor({ name: 'simple', ...options });
  const lines: string[] = [];
  const prog = (progname: string) => {
    const step = currentStep();
    const line = `doing what ${progname} is doing`;
    step.log.info(line);
    lines.push(`${line} (${step.name}[${step.sequence}])`);
    return progname;
  };

  const ev1s = ev.addEvent('run_step1');
  const ev2s = ev.addEvent('run_step2');
  const ev3s = ev.addEvent('run_step3');

  const s1 = ev.addStep('s1', { func: prog, args: ['prog1'], triggers: { [StepStatus.success]: [ev2s] } });
  const s2 = ev.addStep('s2', { func: prog, args: ['prog2'], triggers: { [StepStatus.success]: [ev3s] } });
  const s3 = ev.addStep('s3', { func: prog, args: ['prog3'] });

  ev.addAssoc(ev1s, s1);
  ev.addAssoc(ev2s, s2);
  ev.addAssoc(ev3s, s3);

  ev.triggerEvent(ev1s, 1);
  return { ev, lines };
}
