import { describe, expect, it } from 'vitest';
import { type Sequent, StepStatus } from '../src/index.js';
import { executed, sandbox } from './helpers/sandbox.js';

/** The seed's simple example: s1 x [1,2] > (s11 x [1,2] > s111, s112), s12; then s2. */
function simpleFlow(flow: Sequent, calls: string[]) {
  const prog = (progname: string) => {
    calls.push(`${progname} ${flow.getStepName()}/${flow.getStepSequence()}`);
    return progname;
  };
  const s1 = flow.addStep('s1', { repeats: [1, 2] });
  const s11 = s1.addStep('s11', { repeats: [1, 2] });
  const s111 = s11.addStep('s111', { func: prog, args: ['prog1'] });
  s11.addStep('s112', { func: prog, args: ['prog2'], requires: [[s111, StepStatus.success]] });
  s1.addStep('s12', { func: prog, args: ['prog3'], requires: [[s11, StepStatus.success]] });
  flow.addStep('s2', { func: prog, args: ['prog4'], requires: [[s1, StepStatus.success]] });
  return { s1, s11, s111 };
}

const SIMPLE_ORDER = [
  's1_s11_s111/1.1.1',
  's1_s11_s112/1.1.1',
  's1_s11_s111/1.1.2',
  's1_s11_s112/1.1.2',
  's1_s12/1.1',
  's1_s11_s111/1.2.1',
  's1_s11_s112/1.2.1',
  's1_s11_s111/1.2.2',
  's1_s11_s112/1.2.2',
  's1_s12/1.2',
  's2/1',
];

describe('Sequent simple example', () => {
  it('runs the seed example in its exact order, leaf tasks only', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    simpleFlow(flow, calls);
    const result = await flow.run();
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 0 });
    expect(executed(flow.tasks())).toEqual(SIMPLE_ORDER);
    expect(flow.tasks().every((task) => task.status === 'success' && !task.skipped)).toBe(true);
    expect(calls.map((call) => call.split(' ')[1])).toEqual(SIMPLE_ORDER);
    expect(calls[0]).toBe('prog1 s1_s11_s111/1.1.1');
    expect(calls.at(-1)).toBe('prog4 s2/1');
  });
});
