import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { currentStep, type Eventor, FlowConfigError, FlowError } from '../src/index.js';
import { deferred, sandbox, sleep } from './helpers/sandbox.js';

/** s1 -> s2 -> ... -> sN, each step's success firing the next step's event; returns the first event. */
function chain(ev: Eventor, length: number, func: (index: number) => unknown) {
  const events = Array.from({ length }, (_, i) => ev.addEvent(`run_s${i + 1}`));
  for (let i = 0; i < length; i++) {
    const next = events[i + 1];
    const step = ev.addStep(`s${i + 1}`, {
      func: () => func(i + 1),
      ...(next ? { triggers: { success: next } } : {}),
    });
    ev.addAssoc(events[i]!, step);
  }
  return events[0]!;
}

/**
 * go -> [bad, slow]; bad throws at once; slow takes `slowMs` then fires `after_slow` -> next.
 * Used for the stopOnException rules.
 */
function failingBranch(
  ev: Eventor,
  options: { badConfig?: { stopOnException: boolean }; slowMs?: number } = {},
) {
  const calls: string[] = [];
  const go = ev.addEvent('go');
  const afterSlow = ev.addEvent('after_slow');
  const bad = ev.addStep('bad', {
    func: () => {
      calls.push('bad');
      throw new Error('bad input');
    },
    ...(options.badConfig ? { config: options.badConfig } : {}),
  });
  const slow = ev.addStep('slow', {
    func: async () => {
      await sleep(options.slowMs ?? 40);
      calls.push('slow');
    },
    triggers: { success: afterSlow },
  });
  ev.addAssoc(go, [slow, bad]);
  ev.addAssoc(afterSlow, ev.addStep('next', { func: () => calls.push('next') }));
  ev.triggerEvent(go, 1);
  return calls;
}

describe('Eventor.run', () => {
  it('runs a chain until nothing is left and reports success', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: number[] = [];
    const first = chain(ev, 3, (i) => calls.push(i));

    ev.triggerEvent(first, 1);
    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 0 });
    expect(result.runId).toBe(ev.runId);
    expect(calls).toEqual([1, 2, 3]);
    expect(ev.pending()).toEqual({ count: 0, nextDelayIn: null });
    expect(ev.tasks().map((t) => [t.step, t.sequence, t.status])).toEqual([
      ['s1', '1', 'success'],
      ['s2', '1', 'success'],
      ['s3', '1', 'success'],
    ]);
  });

  it('ends at once with success when nothing was triggered', async () => {
    const box = sandbox();
    const ev = box.eventor();
    chain(ev, 2, () => 1);

    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(ev.tasks()).toEqual([]);
  });

  it('runs a chain of 200 steps back to back, without polling between steps', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const starts: number[] = [];
    const ends: number[] = [];
    const first = chain(ev, 200, async () => {
      starts.push(performance.now());
      await Promise.resolve();
      ends.push(performance.now());
    });

    ev.triggerEvent(first, 1);
    const began = performance.now();
    const result = await ev.run();
    const total = performance.now() - began;

    expect(result.status).toBe('success');
    expect(starts).toHaveLength(200);
    // the gap from one step's end to the next one's start is engine time only (a commit or two);
    // a polling loop would show its sleep interval in every gap
    const gaps = starts.slice(1).map((start, i) => start - (ends[i] as number));
    const sortedGaps = [...gaps].sort((x, y) => x - y);
    const medianGap = sortedGaps[Math.floor(sortedGaps.length / 2)] as number;
    expect(medianGap).toBeLessThan(25);
    expect(total).toBeLessThan(200 * 25);
  });

  it('wakes as soon as an async step ends, not on a timer', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const marks: Record<string, number> = {};
    const go = ev.addEvent('go');
    const next = ev.addEvent('next');
    ev.addAssoc(
      go,
      ev.addStep('slow', {
        func: async () => {
          await sleep(60);
          marks.slowEnd = performance.now();
        },
        triggers: { success: next },
      }),
    );
    ev.addAssoc(
      next,
      ev.addStep('fast', {
        func: () => {
          marks.fastStart = performance.now();
        },
      }),
    );

    ev.triggerEvent(go, 1);
    await ev.run();

    expect(marks.fastStart! - marks.slowEnd!).toBeLessThan(50);
  });

  it('wakes for an event triggered from outside while it sleeps until a delay', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const marks: Record<string, number> = {};
    const go = ev.addEvent('go');
    const other = ev.addEvent('other');
    ev.addAssoc(go, ev.addStep('late', { func: () => (marks.late = performance.now()) }), { delay: 500 });
    ev.addAssoc(other, ev.addStep('prompt', { func: () => (marks.prompt = performance.now()) }));

    ev.triggerEvent(go, 1);
    const began = performance.now();
    const running = ev.run();
    setTimeout(() => ev.triggerEvent(other, 1), 50);
    const result = await running;

    expect(result.status).toBe('success');
    expect(marks.prompt! - began).toBeLessThan(300);
    expect(marks.late! - began).toBeGreaterThanOrEqual(499);
  });

  it('may be called again on the same instance and goes on with the same run', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s1', { func: () => calls.push('s1') }));

    ev.triggerEvent(go, 1);
    const first = await ev.run();
    ev.triggerEvent(go, 2);
    const second = await ev.run();

    expect(first.status).toBe('success');
    expect(second).toMatchObject({ status: 'success', runId: first.runId, recovery: 0 });
    expect(calls).toHaveLength(2);
    expect(ev.tasks().map((t) => t.sequence)).toEqual(['1', '2']);
  });

  it('throws FlowConfigError when run() is called while a run is going', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const hold = deferred();
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('wait', { func: () => hold.promise }));
    ev.triggerEvent(go, 1);

    const running = ev.run();
    await expect(ev.run()).rejects.toThrow(FlowConfigError);
    hold.resolve();
    expect((await running).status).toBe('success');
  });
});

describe('Eventor.run with maxLoops', () => {
  it('does everything that is ready in one pass, including a whole chain', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: number[] = [];
    const first = chain(ev, 4, async (i) => {
      await sleep(2);
      calls.push(i);
    });

    ev.triggerEvent(first, 1);
    const result = await ev.run({ maxLoops: 1 });

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(calls).toEqual([1, 2, 3, 4]);
  });

  it('ends incomplete and keeps a future delay pending', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    const later = ev.addEvent('later');
    ev.addAssoc(go, ev.addStep('now', { func: () => calls.push('now'), triggers: { success: later } }));
    ev.addAssoc(later, ev.addStep('later', { func: () => calls.push('later') }), { delay: 500 });

    ev.triggerEvent(go, 1);
    const began = performance.now();
    const result = await ev.run({ maxLoops: 1 });

    expect(performance.now() - began).toBeLessThan(400);
    expect(result).toMatchObject({ ok: true, status: 'incomplete' });
    expect(calls).toEqual(['now']);
    const pending = ev.pending();
    expect(pending.count).toBe(1);
    expect(pending.nextDelayIn).toBeGreaterThan(0);
    expect(pending.nextDelayIn).toBeLessThanOrEqual(500);
  });

  it('acts on a delay that became due since the last pass', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('later', { func: () => calls.push('later') }), { delay: 150 });

    ev.triggerEvent(go, 1);
    expect((await ev.run({ maxLoops: 1 })).status).toBe('incomplete');
    expect(calls).toEqual([]);
    await sleep(200);
    const result = await ev.run({ maxLoops: 1 });

    expect(result.status).toBe('success');
    expect(calls).toEqual(['later']);
    expect(ev.pending()).toEqual({ count: 0, nextDelayIn: null });
  });

  it('makes n passes with maxLoops: n, sleeping until each delay between them', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    const second = ev.addEvent('second');
    const third = ev.addEvent('third');
    ev.addAssoc(go, ev.addStep('a', { func: () => calls.push('a'), triggers: { success: second } }));
    ev.addAssoc(second, ev.addStep('b', { func: () => calls.push('b'), triggers: { success: third } }), {
      delay: 150,
    });
    ev.addAssoc(third, ev.addStep('c', { func: () => calls.push('c') }), { delay: 150 });

    ev.triggerEvent(go, 1);
    const result = await ev.run({ maxLoops: 2 });

    expect(result.status).toBe('incomplete');
    expect(calls).toEqual(['a', 'b']);
  });
});

describe('run result', () => {
  it('is not ok and ends failure after an unhandled failure', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('bad', {
        func: () => {
          throw new Error('broken');
        },
      }),
    );

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result).toMatchObject({ ok: false, status: 'failure' });
  });

  it('is ok and ends success when the failure has a failure trigger, and the handler runs', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    const fix = ev.addEvent('fix');
    ev.addAssoc(
      go,
      ev.addStep('bad', {
        func: async () => {
          throw new Error('broken');
        },
        triggers: { failure: fix },
      }),
    );
    ev.addAssoc(fix, ev.addStep('handler', { func: () => calls.push('handler') }));

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(calls).toEqual(['handler']);
    expect(ev.tasks({ step: 'bad' })[0]?.status).toBe('failure');
  });

  it('is ok when the failure has a complete trigger', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const done = ev.addEvent('done');
    ev.addAssoc(
      go,
      ev.addStep('bad', {
        func: () => {
          throw new Error('broken');
        },
        triggers: { complete: done },
      }),
    );

    ev.triggerEvent(go, 1);
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
  });

  it('is not ok when a handled failure sits next to an unhandled one', async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { stopOnException: false } });
    const go = ev.addEvent('go');
    const fix = ev.addEvent('fix');
    const boom = () => {
      throw new Error('broken');
    };
    ev.addAssoc(go, [
      ev.addStep('handled', { func: boom, triggers: { failure: fix } }),
      ev.addStep('unhandled', { func: boom }),
    ]);

    ev.triggerEvent(go, 1);
    expect(await ev.run()).toMatchObject({ ok: false, status: 'failure' });
  });

  it('reports failure, not incomplete, when maxLoops ends a run with an unhandled failure', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const later = ev.addEvent('later');
    ev.addAssoc(go, [
      ev.addStep('bad', {
        func: () => {
          throw new Error('broken');
        },
      }),
    ]);
    ev.addAssoc(go, later);
    ev.addAssoc(later, ev.addStep('after'), { delay: 1000 });

    ev.triggerEvent(go, 1);
    expect(await ev.run({ maxLoops: 1 })).toMatchObject({ ok: false, status: 'failure' });
  });
});

describe('stopOnException', () => {
  it('starts no new task after an unhandled failure when true (the default), but lets running tasks finish', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls = failingBranch(ev);

    const result = await ev.run();

    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(calls.sort()).toEqual(['bad', 'slow']);
    expect(ev.tasks({ step: 'slow' })[0]?.status).toBe('success');
    expect(ev.tasks({ step: 'next' }).filter((t) => t.status === 'success')).toEqual([]);
  });

  it('lets every other branch go on to its end when false, and still ends failure', async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { stopOnException: false } });
    const calls = failingBranch(ev);

    const result = await ev.run();

    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(calls.sort()).toEqual(['bad', 'next', 'slow']);
  });

  it("uses the failing step's own stopOnException: false over the eventor's true", async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { stopOnException: true } });
    const calls = failingBranch(ev, { badConfig: { stopOnException: false } });

    const result = await ev.run();

    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(calls.sort()).toEqual(['bad', 'next', 'slow']);
  });

  it("uses the failing step's own stopOnException: true over the eventor's false", async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { stopOnException: false } });
    const calls = failingBranch(ev, { badConfig: { stopOnException: true } });

    const result = await ev.run();

    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(calls.sort()).toEqual(['bad', 'slow']);
  });

  it('does not stop the run for a handled failure', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    const fix = ev.addEvent('fix');
    const afterSlow = ev.addEvent('after_slow');
    ev.addAssoc(go, [
      ev.addStep('bad', {
        func: () => {
          throw new Error('broken');
        },
        triggers: { failure: fix },
      }),
      ev.addStep('slow', {
        func: async () => {
          await sleep(30);
          calls.push('slow');
        },
        triggers: { success: afterSlow },
      }),
    ]);
    ev.addAssoc(afterSlow, ev.addStep('next', { func: () => calls.push('next') }));

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(calls).toEqual(['slow', 'next']);
  });
});

describe('Eventor.pending', () => {
  it('counts unacted triggers before a run, and nothing after it', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s1'));

    expect(ev.pending()).toEqual({ count: 0, nextDelayIn: null });
    ev.triggerEvent(go, 1);
    ev.triggerEvent(go, 2);
    expect(ev.pending()).toEqual({ count: 2, nextDelayIn: null });
    await ev.run();
    expect(ev.pending()).toEqual({ count: 0, nextDelayIn: null });
  });

  it('counts tasks not yet finished while a step runs', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const seen: Array<{ count: number }> = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('a', {
        func: async () => {
          await sleep(5);
          seen.push(ev.pending());
        },
      }),
      ev.addStep('b', { func: () => sleep(30) }),
    ]);

    ev.triggerEvent(go, 1);
    await ev.run();

    // while a runs, a and b are both active
    expect(seen[0]?.count).toBe(2);
  });

  it('reports a stopped run: the tasks it left ready stay pending', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls = failingBranch(ev);

    await ev.run();

    expect(calls).not.toContain('next');
    expect(ev.pending().count).toBe(
      ev.tasks().filter((t) => t.status !== 'success' && t.status !== 'failure').length,
    );
  });
});

describe('Eventor.stop', () => {
  it('aborts a running step, records it failed and ends the run failure', async () => {
    const box = sandbox();
    const ev = box.eventor();
    let aborted: unknown;
    const started = deferred();
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('long', {
        func: () =>
          new Promise((_, reject) => {
            const { signal } = currentStep();
            signal.addEventListener('abort', () => {
              aborted = signal.reason;
              reject(signal.reason);
            });
            started.resolve();
          }),
      }),
    );

    ev.triggerEvent(go, 1);
    const running = ev.run();
    await started.promise;
    ev.stop('maintenance window');
    const result = await running;

    expect(aborted).toBeInstanceOf(Error);
    expect(result).toMatchObject({ ok: false, status: 'failure' });
    const task = ev.tasks({ step: 'long' })[0];
    expect(task?.status).toBe('failure');
    expect(task?.error?.message).toMatch(/long/);
    expect(task?.error?.message).toMatch(/maintenance window/);
  });
});

describe('Eventor.close', () => {
  it('ends a run that is going: run() settles with a failure or a FlowError, and the run stays recoverable', async () => {
    const box = sandbox();
    const build = (runMode: 'restart' | 'recover', hang: boolean) => {
      const ev = box.eventor({ runMode });
      const go = ev.addEvent('go');
      ev.addAssoc(
        go,
        ev.addStep('hold', {
          func: () =>
            hang
              ? new Promise((_, reject) => {
                  const { signal } = currentStep();
                  signal.addEventListener('abort', () => reject(signal.reason));
                })
              : 'done',
        }),
      );
      ev.triggerEvent(go, 1);
      return ev;
    };
    const first = build('restart', true);
    const running = first.run();
    await sleep(20);
    first.close();

    const settled = await running.then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
    if (settled.error === undefined) expect(settled.result).toMatchObject({ ok: false, status: 'failure' });
    else expect(settled.error).toBeInstanceOf(FlowError);

    const second = build('recover', false);
    expect(await second.run()).toMatchObject({ status: 'success', recovery: 1 });
    expect(second.tasks({ recovery: 1 })[0]).toMatchObject({ step: 'hold', skipped: false, result: 'done' });
  });
});
