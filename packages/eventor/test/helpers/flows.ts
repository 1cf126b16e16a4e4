import { Eventor, type EventorOptions, type StepOptions } from '../../src/index.js';

export interface RecoveryFlow {
  ev: Eventor;
  /** Step names in the order their functions were called. */
  calls: string[];
}

/**
 * The seed's recovery example: s1 squares 3, s2 takes the square root of `param`, s3 divides 9 by 3
 * once both s1 and s2 are done. With param -9, s2 fails; recovering with 9 skips s1.
 */
export function recoveryFlow(
  options: EventorOptions & {
    param: number;
    s2?: Pick<StepOptions, 'recovery'>;
    s1?: Pick<StepOptions, 'recovery'>;
  },
): RecoveryFlow {
  const { param, s1: s1Extra, s2: s2Extra, ...eventorOptions } = options;
  const ev = new Eventor({ name: 'recovery', ...eventorOptions });
  const calls: string[] = [];
  const ev1s = ev.addEvent('run_step1');
  const ev1d = ev.addEvent('done_step1');
  const ev2s = ev.addEvent('run_step2');
  const ev2d = ev.addEvent('done_step2');
  const ev3s = ev.addEvent('run_step3', { expr: [ev1d, ev2d] });

  const s1 = ev.addStep('s1', {
    func: (x: number) => {
      calls.push('s1');
      return x * x;
    },
    args: [3],
    triggers: { success: [ev1d, ev2s] },
    ...s1Extra,
  });
  const s2 = ev.addStep('s2', {
    func: (x: number) => {
      calls.push('s2');
      if (x < 0) throw new RangeError(`math domain error: sqrt(${x})`);
      return Math.sqrt(x);
    },
    args: [param],
    triggers: { success: ev2d },
    recovery: { failure: 'rerun', success: 'skip' },
    ...s2Extra,
  });
  const s3 = ev.addStep('s3', {
    func: (x: number, y: number) => {
      calls.push('s3');
      return x / y;
    },
    args: [9, 3],
  });
  ev.addAssoc(ev1s, s1);
  ev.addAssoc(ev2s, s2);
  ev.addAssoc(ev3s, s3);
  ev.triggerEvent(ev1s, 3);
  return { ev, calls };
}
