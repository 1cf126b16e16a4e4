import { describe, expect, it } from 'vitest';
import { currentStep, FlowConfigError, TestClock } from '../src/index.js';
import { systemClock } from '../src/runtime/clock.js';
import { deferred, sandbox, sleep } from './helpers/sandbox.js';

const START = Date.parse('2026-01-01T00:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('TestClock', () => {
  it('starts at a Date, ms or an ISO string (default now) and moves only when advanced', () => {
    expect(new TestClock({ start: new Date(START) }).now()).toBe(START);
    expect(new TestClock({ start: START }).now()).toBe(START);
    expect(new TestClock({ start: '2026-01-01T00:00:00Z' }).now()).toBe(START);
    const before = Date.now();
    const clock = new TestClock();
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    expect(clock.now()).toBeLessThanOrEqual(Date.now());

    const fixed = new TestClock({ start: START });
    fixed.advance('1.5h');
    fixed.advance(250);
    expect(fixed.now()).toBe(START + 1.5 * HOUR + 250);
    expect(() => fixed.advance('soon')).toThrow(FlowConfigError);
    fixed.advanceTo(START + 2 * HOUR);
    fixed.advanceTo(START); // never back
    expect(fixed.now()).toBe(START + 2 * HOUR);
    expect(() => fixed.advanceTo(Number.NaN)).toThrow(/ms since the epoch/);
    expect(() => new TestClock({ start: 'yesterday' })).toThrow(/TestClock option "start"/);
  });

  it('is the only clock option an Eventor takes', () => {
    const box = sandbox();
    expect(() => box.eventor({ clock: { now: () => 0 } as unknown as TestClock })).toThrow(
      /Option "clock" must be a TestClock/,
    );
  });

  it('runs a 30-day delay, a 1 h backoff with 3 retries and a 10 min timeout in under 1 s, in real-time order', async () => {
    const box = sandbox();
    const clock = new TestClock({ start: START });
    const ev = box.eventor({ clock });
    const seen: string[] = [];
    const at = (label: string) => seen.push(`${label} +${(currentStep().now() - START) / MINUTE}m`);
    const go = ev.addEvent('go');
    const hungUp = ev.addEvent('hung_up');
    const later = ev.addEvent('later');
    ev.addAssoc(go, [
      ev.addStep('flaky', {
        func: () => {
          at(`flaky#${currentStep().attempt}`);
          if (currentStep().attempt < 4) throw new Error('service unavailable');
          return 'ok';
        },
        config: { retries: 3, backoff: '1h' },
      }),
      ev.addStep('hang', {
        func: () => {
          at('hang');
          return new Promise(() => {});
        },
        config: { timeout: '10m' },
        triggers: { failure: hungUp },
      }),
      later,
    ]);
    ev.addAssoc(hungUp, ev.addStep('after_hang', { func: () => at('after_hang') }));
    ev.addAssoc(later, ev.addStep('final', { func: () => at('final') }), { delay: '30d' });
    ev.triggerEvent(go);

    const began = performance.now();
    const result = await ev.run();
    const realMs = performance.now() - began;

    expect(realMs).toBeLessThan(1000);
    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(seen).toEqual([
      'flaky#1 +0m',
      'hang +0m',
      'after_hang +10m',
      'flaky#2 +60m',
      'flaky#3 +180m',
      'flaky#4 +420m',
      `final +${(30 * DAY) / MINUTE}m`,
    ]);
    const byStep = new Map(ev.tasks().map((task) => [task.step, task]));
    expect(byStep.get('flaky')).toMatchObject({ status: 'success', attempts: 4, result: 'ok' });
    expect(byStep.get('hang')).toMatchObject({ status: 'failure', attempts: 1 });
    expect(byStep.get('hang')?.error?.message).toMatch(/timed out after 600s/);
    expect(byStep.get('after_hang')?.status).toBe('success');
    // task times are clock times
    expect(byStep.get('flaky')?.createdAt.getTime()).toBe(START);
    expect(byStep.get('flaky')?.updatedAt.getTime()).toBe(START + 7 * HOUR);
    expect(byStep.get('hang')?.updatedAt.getTime()).toBe(START + 10 * MINUTE);
    expect(byStep.get('final')?.createdAt.getTime()).toBe(START + 30 * DAY);
    expect(clock.now()).toBe(START + 30 * DAY);
    expect(ev.pending()).toEqual({ count: 0, nextDelayIn: null });
  });

  it('fires delays due at the same virtual moment in one pass', async () => {
    const box = sandbox();
    const clock = new TestClock({ start: START });
    const ev = box.eventor({ clock });
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('a'), { delay: '1h' });
    ev.addAssoc(go, ev.addStep('b'), { delay: 3_600_000 });
    ev.addAssoc(go, ev.addStep('c'), { delay: '1h' });
    ev.addAssoc(go, ev.addStep('d'), { delay: '2h' });
    ev.triggerEvent(go);

    // pass 1 schedules the delays; pass 2 is the only one left for what falls due at +1 h
    const result = await ev.run({ maxLoops: 2 });

    expect(result.status).toBe('incomplete');
    const done = ev.tasks();
    expect(done.map((task) => task.step).sort()).toEqual(['a', 'b', 'c']);
    for (const task of done) expect(task.createdAt.getTime()).toBe(START + HOUR);
    expect(ev.pending()).toEqual({ count: 1, nextDelayIn: HOUR });
  });

  it('keeps due times across a maxLoops: 1 run and a continue with the same clock', async () => {
    const box = sandbox();
    const clock = new TestClock({ start: START });
    const build = (runMode: 'restart' | 'continue') => {
      const ev = box.eventor({ clock, runMode });
      const go = ev.addEvent('go');
      ev.addAssoc(go, ev.addStep('later', { func: () => currentStep().now() }), { delay: '6h' });
      return { ev, go };
    };
    const first = build('restart');
    first.ev.triggerEvent(first.go);
    expect((await first.ev.run({ maxLoops: 1 })).status).toBe('incomplete');
    expect(clock.now()).toBe(START);
    expect(first.ev.pending()).toEqual({ count: 1, nextDelayIn: 6 * HOUR });
    first.ev.close();

    clock.advance('2h');
    const second = build('continue');
    expect(second.ev.pending()).toEqual({ count: 1, nextDelayIn: 4 * HOUR });
    const result = await second.ev.run();

    expect(result.status).toBe('success');
    const [later] = second.ev.tasks();
    expect(later).toMatchObject({ step: 'later', status: 'success', result: START + 6 * HOUR });
    expect(later?.createdAt.getTime()).toBe(START + 6 * HOUR);
    expect(clock.now()).toBe(START + 6 * HOUR);
  });

  it('lets clock.advance() by hand between passes bring a delay due', async () => {
    const box = sandbox();
    const clock = new TestClock({ start: START });
    const ev = box.eventor({ clock });
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('later'), { delay: '1h' });
    ev.triggerEvent(go);

    expect((await ev.run({ maxLoops: 1 })).status).toBe('incomplete');
    clock.advance('30m');
    expect(ev.pending().nextDelayIn).toBe(30 * MINUTE);
    // one pass: nothing is due yet, and the clock does not jump within it
    expect((await ev.run({ maxLoops: 1 })).status).toBe('incomplete');
    expect(ev.tasks()).toEqual([]);
    expect(clock.now()).toBe(START + 30 * MINUTE);

    clock.advance('30m');
    expect((await ev.run({ maxLoops: 1 })).status).toBe('success');
    expect(ev.tasks()[0]?.createdAt.getTime()).toBe(START + HOUR);
  });

  it('waits for a step running for real without a timeout; advancing by hand wakes the run', async () => {
    const box = sandbox();
    const clock = new TestClock({ start: START });
    const ev = box.eventor({ clock });
    const gate = deferred();
    const seen: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('real', {
        func: async () => {
          await gate.promise;
          seen.push(`real ends +${(currentStep().now() - START) / MINUTE}m`);
        },
      }),
      ev.addStep('retrying', {
        func: () => {
          seen.push(`retrying#${currentStep().attempt} +${(currentStep().now() - START) / MINUTE}m`);
          if (currentStep().attempt === 1) throw new Error('first try fails');
        },
        config: { retries: 1, backoff: '1h' },
      }),
    ]);
    ev.triggerEvent(go);
    const running = ev.run();

    await sleep(150);
    // `real` holds the clock: the backoff has not been jumped over
    expect(seen).toEqual(['retrying#1 +0m']);
    expect(clock.now()).toBe(START);
    clock.advance('1h');
    await sleep(50);
    expect(seen).toEqual(['retrying#1 +0m', 'retrying#2 +60m']);
    gate.resolve();
    const result = await running;

    expect(result.status).toBe('success');
    expect(seen).toEqual(['retrying#1 +0m', 'retrying#2 +60m', 'real ends +60m']);
    expect(ev.tasks({ step: 'retrying' })[0]).toMatchObject({ status: 'success', attempts: 2 });
  });

  it('lets a running step with a timeout end for real before its timeout is reached', async () => {
    const box = sandbox();
    const clock = new TestClock({ start: START });
    const ev = box.eventor({ clock });
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('quick', {
        func: async () => {
          await sleep(5);
          return 'in time';
        },
        config: { timeout: '1m' },
      }),
    );
    ev.triggerEvent(go);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(ev.tasks()[0]).toMatchObject({ status: 'success', attempts: 1, result: 'in time' });
    expect(clock.now()).toBe(START);
  });

  it('gives worker, process and command steps the virtual time as of their start', async () => {
    const box = sandbox();
    const clock = new TestClock({ start: START });
    const ev = box.eventor({ clock });
    const go = ev.addEvent('go');
    const module = new URL('./fixtures/steps.mjs', import.meta.url);
    ev.addAssoc(
      go,
      [
        ev.addStep('in_worker', { module, export: 'clockNow', config: { taskConstruct: 'worker' } }),
        ev.addStep('in_process', { module, export: 'clockNow', config: { taskConstruct: 'process' } }),
        ev.addStep('command', {
          command: [process.execPath, '-e', 'console.log(process.env.EVENTOR_NOW)'],
        }),
      ],
      { delay: '1d' },
    );
    ev.triggerEvent(go);
    const result = await ev.run();

    expect(result.status).toBe('success');
    const byStep = new Map(ev.tasks().map((task) => [task.step, task.result]));
    expect(byStep.get('in_worker')).toBe(START + DAY);
    expect(byStep.get('in_process')).toBe(START + DAY);
    expect(byStep.get('command')).toMatchObject({ exitCode: 0, stdoutTail: [String(START + DAY)] });
  });

  it('gives currentStep().now() as the system time without a TestClock', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('when', { func: () => currentStep().now() }));
    ev.triggerEvent(go);
    const before = Date.now();
    await ev.run();
    const when = ev.tasks()[0]?.result as number;
    expect(when).toBeGreaterThanOrEqual(before);
    expect(when).toBeLessThanOrEqual(Date.now());
  });
});

describe('TestClock settle', () => {
  const realWork = (ms: number) => () => sleep(ms).then(() => 'done');

  it('fails a step still working for real past the settle time (default 100 ms) with its timeout', async () => {
    const box = sandbox();
    const ev = box.eventor({ clock: new TestClock({ start: START }) });
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('slow', { func: realWork(400), config: { timeout: '10m' } }));
    ev.triggerEvent(go);
    const result = await ev.run();
    expect(result.status).toBe('failure');
    expect(ev.tasks()[0]?.error?.message).toMatch(/timed out/i);
  });

  it('lets such a step end when the clock is given a longer settle time', async () => {
    const box = sandbox();
    const clock = new TestClock({ start: START, settle: '3s' });
    expect(clock.settleMs).toBe(3000);
    const ev = box.eventor({ clock });
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('slow', { func: realWork(400), config: { timeout: '10m' } }));
    ev.triggerEvent(go);
    const result = await ev.run();
    expect(result.status).toBe('success');
    expect(ev.tasks()[0]?.result).toBe('done');
    expect(() => new TestClock({ settle: 'a while' })).toThrow(/TestClock option "settle"/);
  });
});

describe('the system clock', () => {
  it('never calls a timer before its due time by Date.now(), though setTimeout may fire a millisecond early', async () => {
    const early: number[] = [];
    // one after another, as a run loop sleeps from delay to delay
    for (let i = 0; i < 1_500; i++) {
      const dueAt = Date.now() + 1;
      await new Promise<void>((resolve) => {
        systemClock.at(dueAt, () => {
          if (Date.now() < dueAt) early.push(dueAt - Date.now());
          resolve();
        });
      });
    }
    expect(early).toEqual([]);
  });
});
