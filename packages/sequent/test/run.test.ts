import { describe, expect, it } from 'vitest';
import type { StepConfig } from '../src/index.js';
import { StepStatus } from '../src/index.js';
import { executed, sandbox, sleep } from './helpers/sandbox.js';

describe('run', () => {
  it('carries a failure up through nested containers to the step requiring the outer failure', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const at = () => `${flow.getStepName()}/${flow.getStepSequence()}`;
    const outer = flow.addStep('outer', { repeats: [1, 2] });
    const inner = outer.addStep('inner', { repeats: [1, 2] });
    inner.addStep('leaf', {
      func: () => {
        calls.push(at());
        if (flow.getStepSequence() === '1.1.2') throw new Error('leaf broke');
      },
    });
    outer.addStep('tail', { func: () => calls.push(at()), requires: [[inner, StepStatus.success]] });
    flow.addStep('rescue', { func: () => calls.push(at()), requires: [[outer, StepStatus.failure]] });
    flow.addStep('next', { func: () => calls.push(at()), requires: [[outer, StepStatus.success]] });
    const result = await flow.run();
    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(calls).toEqual(['outer_inner_leaf/1.1.1', 'outer_inner_leaf/1.1.2', 'rescue/1']);
    expect(executed(flow.tasks({ status: 'failure' }))).toEqual(['outer_inner_leaf/1.1.2']);
  });

  it('lets other branches finish after an unhandled failure when stopOnException is false', async () => {
    const box = sandbox();
    const flow = box.flow({ config: { stopOnException: false } });
    const calls: string[] = [];
    const c = flow.addStep('c', { repeats: [1, 2] });
    c.addStep('bad', {
      func: () => {
        throw new Error('bad');
      },
    });
    const slow = flow.addStep('slow', {
      func: async () => {
        await sleep(30);
        calls.push('slow');
      },
    });
    flow.addStep('afterSlow', {
      func: () => calls.push('afterSlow'),
      requires: [[slow, StepStatus.success]],
    });
    flow.addStep('afterC', { func: () => calls.push('afterC'), requires: [[c, StepStatus.success]] });
    expect(await flow.run()).toMatchObject({ ok: false, status: 'failure' });
    expect(calls).toEqual(['slow', 'afterSlow']);
  });

  it('stops starting steps after an unhandled failure with stopOnException (the default)', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    flow.addStep('bad', {
      func: async () => {
        await sleep(5);
        throw new Error('bad');
      },
    });
    const slow = flow.addStep('slow', {
      func: async () => {
        await sleep(40);
        calls.push('slow');
      },
    });
    flow.addStep('afterSlow', {
      func: () => calls.push('afterSlow'),
      requires: [[slow, StepStatus.success]],
    });
    expect(await flow.run()).toMatchObject({ ok: false, status: 'failure' });
    expect(calls).toEqual(['slow']);
  });

  it('keeps the seed order under config.maxConcurrent 1', async () => {
    const box = sandbox();
    const flow = box.flow({ config: { maxConcurrent: 1 } });
    const s1 = flow.addStep('s1', { repeats: [1, 2] });
    const s11 = s1.addStep('s11', { repeats: [1, 2] });
    const s111 = s11.addStep('s111', { func: () => sleep(1) });
    s11.addStep('s112', { func: () => sleep(1), requires: [[s111, StepStatus.success]] });
    s1.addStep('s12', { func: () => sleep(1), requires: [[s11, StepStatus.success]] });
    flow.addStep('s2', { func: () => sleep(1), requires: [[s1, StepStatus.success]] });
    expect(await flow.run()).toMatchObject({ ok: true, status: 'success' });
    expect(executed(flow.tasks())).toEqual([
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
    ]);
  });

  it('goes on with the same run when run() is called again on the same flow', async () => {
    const box = sandbox();
    const flow = box.flow();
    const c = flow.addStep('c', { repeats: [1, 2] });
    c.addStep('leaf', { func: () => flow.getStepSequence(), delay: '20ms' });
    const first = await flow.run({ maxLoops: 1 });
    expect(first).toMatchObject({ ok: true, status: 'incomplete' });
    expect(flow.pending().count).toBeGreaterThan(0);
    const second = await flow.run();
    expect(second).toMatchObject({ ok: true, status: 'success', runId: first.runId, recovery: 0 });
    expect(flow.tasks().map((task) => task.result)).toEqual(['1.1', '1.2']);
    expect(flow.pending().count).toBe(0);
  });

  it('lists only leaf tasks, filtered and paged like eventor', async () => {
    const box = sandbox();
    const flow = box.flow();
    const c = flow.addStep('c', { repeats: [1, 2, 3] });
    c.addStep('a', { func: () => 'a' });
    flow.addStep('solo', { func: () => 'solo' });
    await flow.run();
    expect(flow.tasks().map((task) => task.step)).toEqual(['solo', 'c_a', 'c_a', 'c_a']);
    expect(flow.tasks({ step: 'c_a', offset: 1, limit: 1 }).map((task) => task.sequence)).toEqual(['1.2']);
    expect(flow.tasks({ step: 'c#begin' })).toEqual([]);
  });

  it('passes command, worker and process steps through, with SEQUENT_ env vars', async () => {
    const box = sandbox();
    const flow = box.flow();
    const c = flow.addStep('c', { repeats: [1, 2] });
    const script =
      'console.log([process.env.SEQUENT_STEP_NAME, process.env.SEQUENT_STEP_SEQUENCE, process.env.WHO].join(" "))';
    const cmd = c.addStep('cmd', { command: [process.execPath, '-e', script], env: { WHO: 'me' } });
    const module = new URL('./fixtures/steps.mjs', import.meta.url);
    for (const construct of ['worker', 'process'] as const) {
      const config: StepConfig = { taskConstruct: construct };
      c.addStep(construct, {
        module,
        export: 'whoAmI',
        args: [construct],
        config,
        requires: [[cmd, StepStatus.success]],
      });
    }
    expect(await flow.run()).toMatchObject({ ok: true, status: 'success' });
    const results = flow
      .tasks()
      .map((task) => ({ step: task.step, sequence: task.sequence, result: task.result }));
    const cmd2 = results.find((task) => task.step === 'c_cmd' && task.sequence === '1.2');
    expect(cmd2?.result).toMatchObject({ exitCode: 0, stdoutTail: ['c_cmd 1.2 me'] });
    const worker = results.find((task) => task.step === 'c_worker' && task.sequence === '1.2');
    expect(worker?.result).toMatch(/^worker c_worker 1\.2 c_worker pid=/);
    const child = results.find((task) => task.step === 'c_process' && task.sequence === '1.1');
    expect(child?.result).toMatch(/^process c_process 1\.1 c_process pid=\d+$/);
    expect(child?.result).not.toContain(`pid=${process.pid}`);
  });
});
