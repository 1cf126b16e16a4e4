import { afterEach, describe, expect, it, vi } from 'vitest';
import * as lib from '../src/index.js';
import { type Eventor, type Logger, type RunObserver, StoreError } from '../src/index.js';
import { FlowChild } from './helpers/child.js';
import { sandbox, sleep } from './helpers/sandbox.js';

/** go -> s1 -> s2 in sequence 1, the flow the observer and logger attacks run. */
function chain(ev: Eventor) {
  const go = ev.addEvent('go');
  const next = ev.addEvent('next');
  ev.addAssoc(go, ev.addStep('s1', { func: async () => 1, triggers: { success: next } }));
  ev.addAssoc(next, ev.addStep('s2', { func: () => 2 }));
  ev.triggerEvent(go, 1);
}

function statuses(ev: Eventor): string[] {
  return ev.tasks().map((t) => `${t.step}:${t.status}`);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an instance kept open after another one took the run over', () => {
  function holdFlow(ev: Eventor) {
    const go = ev.addEvent('go');
    const s1 = ev.addStep('s1', {
      func: (x: number) => {
        if (x < 0) throw new RangeError('negative');
        return x;
      },
      args: [ev.runMode === 'restart' ? -1 : 1],
    });
    ev.addAssoc(go, s1);
    ev.triggerEvent(go, 1);
    return ev;
  }

  it('refuses to run again after another instance recovered the run, and leaves the recovery as it ended', async () => {
    const box = sandbox('moved-on');
    const first = holdFlow(box.eventor({ name: 'moved' }));
    expect((await first.run()).status).toBe('failure');

    const second = holdFlow(box.eventor({ name: 'moved', runMode: 'recover' }));
    expect(await second.run()).toMatchObject({ status: 'success', recovery: 1 });
    second.close();

    const attempt = first.run();
    await expect(attempt).rejects.toThrow(StoreError);
    await expect(attempt).rejects.toThrow(/was recovered .*runMode 'continue' or 'recover'/s);
    await expect(attempt).rejects.toThrow(first.runId);

    const reader = box.eventor({ name: 'moved', runMode: 'continue' });
    expect(reader.recovery).toBe(1);
    expect(reader.tasks({ recovery: 1 }).map((t) => t.status)).toEqual(['success']);
    // nothing written under the old recovery number either
    expect(reader.tasks({ recovery: 0 }).map((t) => t.status)).toEqual(['failure']);
    expect((await reader.run()).status).toBe('success');
  });

  it('refuses to trigger or run again after another instance continued the run at the same recovery', async () => {
    const box = sandbox('moved-on');
    const first = box.eventor({ name: 'moved' });
    const go = first.addEvent('go');
    first.addAssoc(go, first.addStep('s1', { func: () => 1 }));
    first.triggerEvent(go, 1);
    expect((await first.run()).status).toBe('success');

    const other = box.eventor({ name: 'moved', runMode: 'continue' });
    const otherGo = other.addEvent('go');
    other.addAssoc(otherGo, other.addStep('s1', { func: () => 1 }));
    other.triggerEvent(otherGo, 2);
    expect(await other.run()).toMatchObject({ status: 'success', recovery: 0 });
    other.close();

    expect(() => first.triggerEvent(go, 3)).toThrow(StoreError);
    await expect(first.run()).rejects.toThrow(/continued/);
  });

  it('runs again, on the same run, when no other instance took it meanwhile', async () => {
    const box = sandbox('moved-on');
    const ev = box.eventor({ name: 'mine' });
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s1', { func: () => 1 }));
    ev.triggerEvent(go, 1);
    expect((await ev.run()).status).toBe('success');
    ev.triggerEvent(go, 2);
    expect(await ev.run()).toMatchObject({ status: 'success', recovery: 0 });
    expect(ev.tasks()).toHaveLength(2);
  });
});

describe('continue after a crash with the running step removed from the definition', () => {
  it('ends incomplete with a warning naming the step, and the task stays pending', async () => {
    const box = sandbox('removed-step');
    const child = new FlowChild(['crash', box.store, box.dir, '1']);
    const started = await child.next('started');
    await child.next('hanging');
    await child.kill();

    // the crash flow without s2 (and what only s2 led to)
    const ev = box.eventor({ name: 'crash', runMode: 'continue' });
    const start = ev.addEvent('start');
    const s1Done = ev.addEvent('s1_done');
    const sideDone = ev.addEvent('side_done');
    ev.addEvent('to_s2', { expr: [s1Done, sideDone] });
    ev.addAssoc(start, [
      ev.addStep('s1', { func: () => 1, triggers: { success: s1Done } }),
      ev.addStep('side', { func: () => 'side', triggers: { success: sideDone } }),
    ]);
    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'incomplete', runId: started.runId });
    expect(ev.pending().count).toBe(1);
    expect(ev.tasks({ step: 's2' }).map((t) => t.status)).toEqual(['active']);
    const warnings = box.logger.at('warn').map((r) => r.msg ?? '');
    expect(warnings.some((msg) => msg.includes('"s2"') && /no longer defines/.test(msg))).toBe(true);
  });
});

describe('an observer that throws', () => {
  const throwing = (where: keyof RunObserver): RunObserver => ({
    [where]: () => {
      throw new Error(`observer broke in ${where}`);
    },
  });
  const rejecting = (where: keyof RunObserver): RunObserver => ({
    [where]: async () => {
      throw new Error(`observer rejected in ${where}`);
    },
  });

  for (const method of ['runStarted', 'taskStarted', 'taskEnded', 'runEnded'] as const) {
    it(`changes nothing when ${method} throws: the run ends success and every task is recorded success`, async () => {
      const box = sandbox('observer');
      const ev = box.eventor();
      chain(ev);
      const result = await ev.run({ observer: throwing(method) });
      expect(result).toMatchObject({ ok: true, status: 'success' });
      expect(statuses(ev)).toEqual(['s1:success', 's2:success']);
      expect(ev.pending().count).toBe(0);
      const logged = box.logger.records.filter((r) => (r.msg ?? '').includes(`observer broke in ${method}`));
      expect(logged.length).toBeGreaterThan(0);
      expect(logged[0]?.msg).toContain(method);
    });

    it(`changes nothing when an async ${method} rejects`, async () => {
      const box = sandbox('observer');
      const ev = box.eventor();
      chain(ev);
      const result = await ev.run({ observer: rejecting(method) });
      await sleep(10);
      expect(result).toMatchObject({ ok: true, status: 'success' });
      expect(statuses(ev)).toEqual(['s1:success', 's2:success']);
      expect(box.logger.records.some((r) => (r.msg ?? '').includes(`observer rejected in ${method}`))).toBe(
        true,
      );
    });
  }

  it('keeps a run that is continued afterwards from running a finished step again', async () => {
    const box = sandbox('observer');
    const calls: string[] = [];
    const build = (ev: Eventor) => {
      const go = ev.addEvent('go');
      ev.addAssoc(go, ev.addStep('once', { func: () => calls.push('once') }));
      ev.triggerEvent(go, 1);
    };
    const first = box.eventor({ name: 'obs' });
    build(first);
    await first.run({ observer: throwing('taskEnded') });
    first.close();
    const again = box.eventor({ name: 'obs', runMode: 'continue' });
    build(again);
    expect((await again.run()).status).toBe('success');
    expect(calls).toEqual(['once']);
  });
});

describe('a logger that throws', () => {
  const broken = (): Logger => ({
    debug: () => {
      throw new Error('debug broke');
    },
    info: () => {
      throw new Error('info broke');
    },
    warn: () => {
      throw new Error('warn broke');
    },
    error: () => {
      throw new Error('error broke');
    },
  });

  it('changes nothing at any level: the run ends as it would, tasks are recorded right, records go to stderr', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    const box = sandbox('logger');
    const ev = box.eventor({ logger: broken(), logLevel: 'debug' });
    const go = ev.addEvent('go');
    const next = ev.addEvent('next');
    ev.addAssoc(go, ev.addStep('s1', { func: async () => 1, triggers: { success: next } }));
    ev.addAssoc(
      next,
      ev.addStep('s2', {
        func: () => {
          lib.currentStep().log.info('from the step');
          throw new Error('s2 fails');
        },
      }),
    );
    ev.triggerEvent(go, 1);
    const result = await ev.run();
    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(statuses(ev)).toEqual(['s1:success', 's2:failure']);
    const lines = stderr.mock.calls.map((call) => String(call[0]));
    expect(lines.some((line) => line.includes('from the step'))).toBe(true);
    expect(lines.some((line) => line.includes('s2 fails'))).toBe(true);
    expect(lines.some((line) => /logger.*threw/.test(line))).toBe(true);
  });

  it('changes nothing when an async logger rejects, or lacks a method', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    const box = sandbox('logger');
    const logger = {
      info: async () => {
        throw new Error('info rejected');
      },
      warn: () => {},
      error: () => {},
    } as unknown as Logger;
    const ev = box.eventor({ logger, logLevel: 'debug' });
    chain(ev);
    const result = await ev.run();
    await sleep(10);
    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(statuses(ev)).toEqual(['s1:success', 's2:success']);
    expect(stderr.mock.calls.some((call) => String(call[0]).includes('Running step s1'))).toBe(true);
  });
});

describe('a timed-out step that ignores its signal', () => {
  for (const cap of ['eventor', 'step'] as const) {
    it(`still counts against the ${cap}'s maxConcurrent until it really ends: no two bodies at once`, async () => {
      const box = sandbox('timeout-cap');
      const ev = box.eventor(cap === 'eventor' ? { config: { maxConcurrent: 1 } } : {});
      let running = 0;
      let most = 0;
      let entered = 0;
      const go = ev.addEvent('go');
      ev.addAssoc(
        go,
        ev.addStep('stubborn', {
          func: async () => {
            entered += 1;
            running += 1;
            most = Math.max(most, running);
            await sleep(150); // ignores currentStep().signal
            running -= 1;
          },
          config: { timeout: 30, retries: 2, ...(cap === 'step' ? { maxConcurrent: 1 } : {}) },
        }),
      );
      ev.triggerEvent(go, 1);
      const result = await ev.run();
      expect(result.status).toBe('failure');
      expect(entered).toBe(3);
      expect(most).toBe(1);
      const [task] = ev.tasks();
      expect(task).toMatchObject({ status: 'failure', attempts: 3 });
      expect(task?.error?.message).toMatch(/timed out/);
    });
  }

  it('does not hold back a step without a cap, nor the end of the run', async () => {
    const box = sandbox('timeout-cap');
    const ev = box.eventor();
    let entered = 0;
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('stubborn', {
        func: async () => {
          entered += 1;
          await sleep(400);
        },
        config: { timeout: 20, retries: 1 },
      }),
    );
    ev.triggerEvent(go, 1);
    const started = Date.now();
    expect((await ev.run()).status).toBe('failure');
    expect(entered).toBe(2);
    expect(Date.now() - started).toBeLessThan(350);
  });
});
