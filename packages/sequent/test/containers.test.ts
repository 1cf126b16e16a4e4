import { describe, expect, it } from 'vitest';
import { ResourcePool, StepStatus } from '../src/index.js';
import { executed, sandbox, sleep } from './helpers/sandbox.js';

/** Counts how many probed steps run at once. */
class Overlap {
  running = 0;
  max = 0;
  readonly order: string[] = [];
  step(label: () => string, ms = 20) {
    return async () => {
      const name = label();
      this.running += 1;
      this.max = Math.max(this.max, this.running);
      this.order.push(`+${name}`);
      await sleep(ms);
      this.order.push(`-${name}`);
      this.running -= 1;
    };
  }
}

describe('containers', () => {
  it('fails a container when a child fails unrequired, and runs the steps that require that failure', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const at = () => `${flow.getStepName()}/${flow.getStepSequence()}`;
    const c = flow.addStep('c', { repeats: [1, 2, 3] });
    c.addStep('work', {
      func: () => {
        calls.push(at());
        if (flow.getStepSequence() === '1.2') throw new Error('work failed in 1.2');
      },
    });
    const slow = c.addStep('slow', {
      func: async () => {
        await sleep(40);
        calls.push(at());
      },
    });
    c.addStep('more', { func: () => calls.push(at()), requires: [[slow, StepStatus.success]] });
    flow.addStep('cleanup', { func: () => calls.push(at()), requires: [[c, StepStatus.failure]] });
    flow.addStep('report', { func: () => calls.push(at()), requires: [[c, StepStatus.complete]] });
    flow.addStep('after', { func: () => calls.push(at()), requires: [[c, StepStatus.success]] });
    const result = await flow.run();
    expect(result).toMatchObject({ ok: true, status: 'success' });
    // iteration 1.2 ends (slow and more still run), then c fails: no 1.3, no `after`
    expect(calls).toEqual([
      'c_work/1.1',
      'c_slow/1.1',
      'c_more/1.1',
      'c_work/1.2',
      'c_slow/1.2',
      'c_more/1.2',
      'cleanup/1',
      'report/1',
    ]);
  });

  it('makes an unrequired container failure an unhandled failure of the run', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const outer = flow.addStep('outer', { repeats: [1, 2] });
    const c = outer.addStep('c', { repeats: [1, 2, 3] });
    c.addStep('work', {
      func: () => {
        calls.push(flow.getStepSequence());
        if (flow.getStepSequence() === '1.1.2') throw new Error('broken');
      },
    });
    flow.addStep('after', { func: () => calls.push('after'), requires: [[outer, StepStatus.success]] });
    const result = await flow.run();
    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(calls).toEqual(['1.1.1', '1.1.2']);
    const failed = flow.tasks({ status: 'failure' });
    expect(executed(failed)).toEqual(['outer_c_work/1.1.2']);
    expect(failed[0]?.error?.message).toContain('outer_c_work');
  });

  it('keeps a container going when a sibling requires the failed child, and passes over it when unneeded', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const c = flow.addStep('c', { repeats: [1, 2, 3] });
    const risky = c.addStep('risky', {
      func: () => {
        calls.push(`risky/${flow.getStepSequence()}`);
        if (flow.getStepSequence() !== '1.2') throw new Error('risky fails but in 1.2');
      },
    });
    c.addStep('fix', {
      func: () => calls.push(`fix/${flow.getStepSequence()}`),
      requires: [[risky, StepStatus.failure]],
    });
    flow.addStep('after', { func: () => calls.push('after'), requires: [[c, StepStatus.success]] });
    expect(await flow.run()).toMatchObject({ ok: true, status: 'success' });
    expect(calls).toEqual(['risky/1.1', 'fix/1.1', 'risky/1.2', 'risky/1.3', 'fix/1.3', 'after']);
  });

  it('succeeds at once with empty repeats, running none of its children, and with no children', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const empty = flow.addStep('empty', { repeats: [] });
    empty.addStep('never', { func: () => calls.push('never') });
    const hollow = flow.addStep('hollow', { repeats: [1, 2] }); // iterations with nothing in them
    flow.addStep('after', {
      func: () => calls.push('after'),
      requires: [
        [empty, StepStatus.success],
        [hollow, StepStatus.success],
      ],
    });
    expect(await flow.run()).toMatchObject({ ok: true, status: 'success' });
    expect(calls).toEqual(['after']);
  });

  it('takes any iterable as repeats, a generator included, in every enclosing iteration', async () => {
    const box = sandbox();
    const flow = box.flow();
    function* range(start: number, stop: number) {
      for (let i = start; i < stop; i++) yield i;
    }
    const outer = flow.addStep('outer', { repeats: new Set(['x', 'y']) });
    const inner = outer.addStep('inner', { repeats: range(0, 3) });
    inner.addStep('leaf', { func: () => flow.getStepSequence() });
    expect(await flow.run()).toMatchObject({ ok: true });
    expect(flow.tasks().map((task) => task.result)).toEqual([
      '1.1.1',
      '1.1.2',
      '1.1.3',
      '1.2.1',
      '1.2.2',
      '1.2.3',
    ]);
  });

  it('runs iterations one after another, children without requires together', async () => {
    const box = sandbox();
    const flow = box.flow();
    const probe = new Overlap();
    const c = flow.addStep('c', { repeats: [1, 2] });
    const label = () => `${flow.getStepName()}/${flow.getStepSequence()}`;
    c.addStep('a', { func: probe.step(label, 30) });
    c.addStep('b', { func: probe.step(label, 10) });
    await flow.run();
    expect(probe.max).toBe(2);
    expect(probe.order).toEqual([
      '+c_a/1.1',
      '+c_b/1.1',
      '-c_b/1.1',
      '-c_a/1.1',
      '+c_a/1.2',
      '+c_b/1.2',
      '-c_b/1.2',
      '-c_a/1.2',
    ]);
  });

  it('delays a step in every iteration after its requirements hold', async () => {
    const box = sandbox();
    const flow = box.flow();
    const stamps: number[] = [];
    const start = Date.now();
    const c = flow.addStep('c', { repeats: [1, 2, 3] });
    const first = c.addStep('first', { func: () => stamps.push(Date.now() - start) });
    c.addStep('later', {
      func: () => stamps.push(Date.now() - start),
      requires: [[first, StepStatus.success]],
      delay: '30ms',
    });
    const waiting = flow.addStep('waiting', { repeats: [1], delay: 40 });
    waiting.addStep('leaf', { func: () => stamps.push(Date.now() - start) });
    expect(await flow.run()).toMatchObject({ ok: true });
    const tasks = flow.tasks().filter((task) => task.step.startsWith('c_'));
    const firstAt = tasks.filter((task) => task.step === 'c_first').map((task) => task.createdAt.getTime());
    const laterAt = tasks.filter((task) => task.step === 'c_later').map((task) => task.createdAt.getTime());
    for (let i = 0; i < 3; i++)
      expect((laterAt[i] as number) - (firstAt[i] as number)).toBeGreaterThanOrEqual(28);
    expect(Math.max(...stamps)).toBeGreaterThanOrEqual(3 * 28);
    const leaf = flow.tasks().find((task) => task.step === 'waiting_leaf');
    expect((leaf?.createdAt.getTime() ?? 0) - start).toBeGreaterThanOrEqual(38);
  });

  it('shares a pool across iterations and containers: a leaf pool caps concurrent leaves', async () => {
    const box = sandbox();
    const run = async (pool: ResourcePool | undefined) => {
      const flow = box.flow();
      const probe = new Overlap();
      const label = () => `${flow.getStepName()}/${flow.getStepSequence()}`;
      for (const name of ['a', 'b']) {
        const c = flow.addStep(name, { repeats: [1, 2, 3] });
        c.addStep('leaf', { func: probe.step(label), ...(pool ? { acquires: [[pool, 1] as const] } : {}) });
      }
      expect(await flow.run()).toMatchObject({ ok: true });
      flow.close();
      return probe;
    };
    expect((await run(undefined)).max).toBe(2);
    const pool = new ResourcePool('one', { limit: 1 });
    expect((await run(pool)).max).toBe(1);
    expect(pool.used).toBe(0);
  });

  it('holds a container pool across all its iterations', async () => {
    const box = sandbox();
    const flow = box.flow();
    const pool = new ResourcePool('exclusive', { limit: 1 });
    const probe = new Overlap();
    const label = () => `${flow.getStepName()}/${flow.getStepSequence()}`;
    for (const name of ['a', 'b']) {
      const c = flow.addStep(name, { repeats: [1, 2], acquires: [[pool, 1]] });
      c.addStep('leaf', { func: probe.step(label, 10) });
    }
    expect(await flow.run()).toMatchObject({ ok: true });
    expect(probe.order.filter((entry) => entry.startsWith('+'))).toEqual([
      '+a_leaf/1.1',
      '+a_leaf/1.2',
      '+b_leaf/1.1',
      '+b_leaf/1.2',
    ]);
    expect(pool.used).toBe(0);
  });

  it('gives leaves the config of their containers, their own config winning', async () => {
    const box = sandbox();
    const flow = box.flow();
    const attempts: Record<string, number> = {};
    const flaky = () => {
      const key = `${flow.getStepName()}/${flow.getStepSequence()}`;
      attempts[key] = (attempts[key] ?? 0) + 1;
      if (attempts[key] === 1) throw new Error('first attempt fails');
    };
    const c = flow.addStep('c', { config: { retries: 1 } });
    c.addStep('inherits', { func: flaky });
    c.addStep('overrides', { func: flaky, config: { retries: 0 } });
    flow.addStep('fallback', { func: () => undefined, requires: [[c, StepStatus.failure]] });
    expect(await flow.run()).toMatchObject({ ok: true });
    expect(flow.tasks().map((task) => `${task.step}:${task.status}:${task.attempts}`)).toEqual([
      'c_inherits:success:2',
      'c_overrides:failure:1',
      'fallback:success:1',
    ]);
  });

  it('answers getStepName and getStepSequence inside steps, after awaits too, and throws outside', async () => {
    const box = sandbox();
    const flow = box.flow();
    const seen: string[] = [];
    const c = flow.addStep('c', { repeats: [1, 2] });
    c.addStep('leaf', {
      func: async () => {
        await sleep(1);
        seen.push(`${flow.getStepName()}@${flow.getStepSequence()}`);
      },
    });
    await flow.run();
    expect(seen).toEqual(['c_leaf@1.1', 'c_leaf@1.2']);
    expect(() => flow.getStepName()).toThrow(/outside a running step/);
    expect(() => flow.getStepSequence()).toThrow(/outside a running step/);
  });
});
