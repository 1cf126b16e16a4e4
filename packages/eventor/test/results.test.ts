import { describe, expect, it } from 'vitest';
import type { Eventor } from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

/** One step `s` on event `go`, triggered in sequence 1 and run; returns the result and its task. */
async function runOne(ev: Eventor, func: () => unknown) {
  const go = ev.addEvent('go');
  ev.addAssoc(go, ev.addStep('s', { func }));
  ev.triggerEvent(go, 1);
  const result = await ev.run();
  const [task] = ev.tasks();
  return { result, task };
}

describe('step success', () => {
  it.each([
    ['false', false],
    ['undefined', undefined],
    ['null', null],
    ['0', 0],
    ['an empty string', ''],
  ])('counts a step that returns %s as success', async (_label, value) => {
    const box = sandbox();
    const ev = box.eventor();
    const { result, task } = await runOne(ev, () => value);

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(task?.status).toBe('success');
    expect(task?.error).toBeUndefined();
  });

  it('counts a promise that resolves to false as success', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { result, task } = await runOne(ev, async () => false);

    expect(result.status).toBe('success');
    expect(task).toMatchObject({ status: 'success', result: false });
  });

  it('keeps the returned value in TaskRecord.result', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const value = { rows: 3, names: ['a', 'b'], nested: { ok: true } };
    const { task } = await runOne(ev, () => value);

    expect(task?.result).toEqual(value);
  });

  it('keeps result false and null as such, and leaves result undefined when nothing was returned', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('false', { func: () => false }),
      ev.addStep('null', { func: () => null }),
      ev.addStep('nothing', { func: () => {} }),
    ]);
    ev.triggerEvent(go, 1);
    await ev.run();

    const byStep = Object.fromEntries(ev.tasks().map((t) => [t.step, t]));
    expect(byStep.false?.result).toBe(false);
    expect(byStep.null?.result).toBeNull();
    expect(byStep.nothing?.result).toBeUndefined();
  });
});

describe('step failure', () => {
  it('records a thrown error with a message naming the step and the sequence', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('square_root', {
        func: (x: number) => {
          if (x < 0) throw new RangeError(`cannot take the square root of ${x}`);
          return Math.sqrt(x);
        },
        args: [-9],
      }),
    );
    ev.triggerEvent(go, 3);
    const result = await ev.run();
    const [task] = ev.tasks();

    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(task?.status).toBe('failure');
    expect(task?.error?.name).toBe('StepFailedError');
    expect(task?.error?.message).toContain('square_root');
    expect(task?.error?.message).toContain('"3"');
    expect(task?.error?.message).toContain('cannot take the square root of -9');
    expect(task?.result).toBeUndefined();
  });

  it('records a rejected promise as a failure', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { result, task } = await runOne(ev, async () => {
      throw new Error('remote said no');
    });

    expect(result.status).toBe('failure');
    expect(task?.status).toBe('failure');
    expect(task?.error?.message).toMatch(/"s".*"1".*remote said no/);
  });

  it('records a thrown non-Error value as a failure with that value in the message', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { task } = await runOne(ev, () => {
      throw 'plain string';
    });

    expect(task?.status).toBe('failure');
    expect(task?.error?.message).toMatch(/"s".*plain string/);
  });

  it('fails a step whose result cannot be stored, saying why', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { result, task } = await runOne(ev, () => ({ callback: () => 1 }));

    expect(result.status).toBe('failure');
    expect(task?.status).toBe('failure');
    expect(task?.error?.code).toBe('FLOW_RESULT_NOT_SERIALIZABLE');
    expect(task?.error?.message).toMatch(/"s"/);
    expect(task?.error?.message).toMatch(/it holds a function \(callback\) \(at \.callback\)/);
  });
});

describe('TaskRecord', () => {
  it('carries step, sequence, recovery, status, attempts 1, skipped false and Date timestamps', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const before = Date.now();
    const { task } = await runOne(ev, () => 'done');
    const after = Date.now();

    expect(task).toMatchObject({
      step: 's',
      sequence: '1',
      recovery: 0,
      status: 'success',
      attempts: 1,
      skipped: false,
      result: 'done',
    });
    expect(task?.createdAt).toBeInstanceOf(Date);
    expect(task?.updatedAt).toBeInstanceOf(Date);
    expect(task!.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(task!.updatedAt.getTime()).toBeGreaterThanOrEqual(task!.createdAt.getTime());
    expect(task!.updatedAt.getTime()).toBeLessThanOrEqual(after);
  });

  it('lists the tasks of the run oldest first', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const next = ev.addEvent('next');
    ev.addAssoc(go, ev.addStep('first', { triggers: { success: next } }));
    ev.addAssoc(next, ev.addStep('second'));
    ev.triggerEvent(go, 'b');
    ev.triggerEvent(go, 'a');
    await ev.run();

    const tasks = ev.tasks();
    expect(tasks.map((t) => `${t.step}/${t.sequence}`)).toEqual([
      'first/b',
      'first/a',
      'second/b',
      'second/a',
    ]);
    for (let i = 1; i < tasks.length; i++) {
      expect(tasks[i]!.createdAt.getTime()).toBeGreaterThanOrEqual(tasks[i - 1]!.createdAt.getTime());
    }
  });

  it('filters tasks by step and status', async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { stopOnException: false } });
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('ok'),
      ev.addStep('bad', {
        func: () => {
          throw new Error('x');
        },
      }),
    ]);
    ev.triggerEvent(go, 1);
    ev.triggerEvent(go, 2);
    await ev.run();

    expect(ev.tasks({ step: 'ok' }).map((t) => t.sequence)).toEqual(['1', '2']);
    expect(ev.tasks({ status: 'failure' }).map((t) => `${t.step}/${t.sequence}`)).toEqual(['bad/1', 'bad/2']);
  });
});
