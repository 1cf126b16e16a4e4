import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  and,
  currentStep,
  FlowError,
  or,
  ResourcePool,
  RunMode,
  type RunResult,
  SequentError,
  type SequentStep,
  StepReplay,
  StepStatus,
  type TaskRecord,
} from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

describe('public API (as API.md writes it)', () => {
  it('builds and runs the API.md flow', async () => {
    const box = sandbox();
    const flow = box.flow({ runMode: RunMode.restart, logLevel: 'warn', config: { maxConcurrent: 4 } });
    const pool = new ResourcePool('notify', { limit: 1 });
    const said: string[] = [];
    const prog = (name: string) => {
      said.push(`${name} ${currentStep().name}/${currentStep().sequence}`);
      return name;
    };
    const notify = () => said.push('notify');

    const s1 = flow.addStep('s1', { repeats: [1, 2] });
    const s11 = s1.addStep('s11', { repeats: [1, 2] });
    const s111 = s11.addStep('s111', { func: prog, args: ['prog1'] });
    s11.addStep('s112', { func: prog, args: ['prog2'], requires: [[s111, StepStatus.success]] });
    s1.addStep('s12', { func: prog, args: ['prog3'], requires: [[s11, StepStatus.success]] });
    const done = flow.addEvent([[s1, StepStatus.success]]);
    const s2 = flow.addStep('s2', { func: prog, args: ['prog4'], requires: [done] });
    flow.addStep('s3', {
      func: notify,
      requires: [or([s1, StepStatus.failure], [s2, StepStatus.complete]), and(done)],
      delay: '10ms',
      acquires: [[pool, 1]],
      recovery: { [StepStatus.success]: StepReplay.skip, [StepStatus.failure]: StepReplay.rerun },
      config: { timeout: '5s', retries: 1 },
    });

    expect(s111.path).toBe('s1_s11_s111');
    expect(s111.parent?.path).toBe('s1_s11');
    expect(s1.isContainer).toBe(true);
    expect(s111.isContainer).toBe(false);
    expectTypeOf(s111).toEqualTypeOf<SequentStep<string>>();

    const result = await flow.run();
    expectTypeOf(result).toEqualTypeOf<RunResult>();
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 0 });
    expect(said.slice(-2)).toEqual(['prog4 s2/1', 'notify']);
    const tasks: TaskRecord[] = flow.tasks();
    expect(tasks.map((task) => task.step)).not.toContain('s1#begin');
    expect(new SequentError('requires', 'x')).toBeInstanceOf(FlowError);
  });
});
