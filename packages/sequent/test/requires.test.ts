import { describe, expect, it } from 'vitest';
import { and, or, StepStatus } from '../src/index.js';
import { executed, sandbox, sleep } from './helpers/sandbox.js';

const ok = (name: string, calls: string[]) => () => {
  calls.push(name);
  return name;
};
const boom = (name: string, calls: string[]) => () => {
  calls.push(name);
  throw new Error(`${name} failed on purpose`);
};

describe('requires', () => {
  it('runs an or() step when one alternative holds and skips one when none can', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const a = flow.addStep('a', { func: ok('a', calls) });
    const b = flow.addStep('b', { func: ok('b', calls) });
    flow.addStep('either', {
      func: ok('either', calls),
      requires: [or([a, StepStatus.failure], [b, StepStatus.success])],
    });
    flow.addStep('neither', {
      func: ok('neither', calls),
      requires: [or([a, StepStatus.failure], [b, StepStatus.failure])],
    });
    flow.addStep('last', { func: ok('last', calls), requires: [[b, StepStatus.success]] });
    expect(await flow.run()).toMatchObject({ ok: true, status: 'success' });
    expect(calls.sort()).toEqual(['a', 'b', 'either', 'last']);
  });

  it('holds complete on success and on failure, and a complete requirement handles the failure', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const good = flow.addStep('good', { func: ok('good', calls) });
    const bad = flow.addStep('bad', { func: boom('bad', calls) });
    flow.addStep('afterGood', { func: ok('afterGood', calls), requires: [[good, StepStatus.complete]] });
    flow.addStep('afterBad', { func: ok('afterBad', calls), requires: [[bad, StepStatus.complete]] });
    flow.addStep('onlyIfBadOk', { func: ok('onlyIfBadOk', calls), requires: [[bad, StepStatus.success]] });
    expect(await flow.run()).toMatchObject({ ok: true, status: 'success' });
    expect(calls.sort()).toEqual(['afterBad', 'afterGood', 'bad', 'good']);
    expect(flow.tasks().find((task) => task.step === 'bad')?.status).toBe('failure');
  });

  it('ends the run failed when a failure is not required by anyone, and starts nothing after it', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const bad = flow.addStep('bad', { func: boom('bad', calls) });
    flow.addStep('next', { func: ok('next', calls), requires: [[bad, StepStatus.success]] });
    const result = await flow.run();
    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(calls).toEqual(['bad']);
  });

  it('takes nested lists and and() as AND, and events from addEvent as reusable requirements', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const a = flow.addStep('a', { func: ok('a', calls) });
    const b = flow.addStep('b', {
      func: async () => {
        await sleep(30);
        calls.push('b');
      },
    });
    const c = flow.addStep('c', { func: boom('c', calls) });
    const bothDone = flow.addEvent([[a, StepStatus.success], [[b, StepStatus.success]]]);
    flow.addStep('x', { func: ok('x', calls), requires: [bothDone] });
    flow.addStep('y', { func: ok('y', calls), requires: [and(bothDone, [c, StepStatus.failure])] });
    flow.addStep('z', { func: ok('z', calls), requires: [bothDone, [c, StepStatus.success]] });
    expect(await flow.run()).toMatchObject({ ok: true });
    expect(calls.indexOf('x')).toBeGreaterThan(calls.indexOf('b'));
    expect(calls.indexOf('y')).toBeGreaterThan(calls.indexOf('b'));
    expect(calls).not.toContain('z');
  });

  it('starts a step on [step, active] while that step still runs', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const slow = flow.addStep('slow', {
      func: async () => {
        calls.push('slow start');
        await sleep(60);
        calls.push('slow end');
      },
    });
    flow.addStep('watch', { func: ok('watch', calls), requires: [[slow, StepStatus.active]] });
    flow.addStep('ready', { func: ok('ready', calls), requires: [[slow, StepStatus.ready]] });
    await flow.run();
    expect(calls.indexOf('watch')).toBeLessThan(calls.indexOf('slow end'));
    expect(calls.indexOf('ready')).toBeLessThan(calls.indexOf('slow end'));
  });

  it('matches siblings in the same iteration and outer steps in the enclosing sequence', async () => {
    const box = sandbox();
    const flow = box.flow();
    const calls: string[] = [];
    const log = (label: string) => () => calls.push(`${label}/${flow.getStepSequence()}`);
    const gate = flow.addStep('gate', {
      func: async () => {
        await sleep(100);
        calls.push('gate/1');
      },
    });
    const never = flow.addStep('never', { func: ok('never', calls), requires: [[gate, StepStatus.failure]] });
    const loop = flow.addStep('loop', { repeats: ['a', 'b'] });
    const inner = loop.addStep('inner', { repeats: [1, 2] });
    const free = loop.addStep('free', { func: log('free') });
    inner.addStep('gated', {
      func: log('gated'),
      requires: [
        [gate, StepStatus.success],
        [free, StepStatus.success],
      ],
    });
    inner.addStep('hopeless', { func: log('hopeless'), requires: [[never, StepStatus.success]] });
    expect(await flow.run()).toMatchObject({ ok: true, status: 'success' });
    expect(calls).toEqual([
      'free/1.1',
      'gate/1',
      'gated/1.1.1',
      'gated/1.1.2',
      'free/1.2',
      'gated/1.2.1',
      'gated/1.2.2',
    ]);
    expect(executed(flow.tasks()).filter((name) => name.startsWith('loop_inner_hopeless'))).toEqual([]);
  });
});
