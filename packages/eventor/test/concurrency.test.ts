import { describe, expect, it } from 'vitest';
import { currentStep, type Eventor, type EventRef } from '../src/index.js';
import { ConcurrencyProbe, sandbox, sleep } from './helpers/sandbox.js';

const sequence = () => currentStep().sequence;

/** Fires `go` in sequences '1'..'n', in that order. */
function triggerEach(ev: Eventor, go: EventRef, n: number) {
  for (let i = 1; i <= n; i++) ev.triggerEvent(go, String(i));
}

describe('config.maxConcurrent', () => {
  it('runs every ready task at once when there is no cap', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const probe = new ConcurrencyProbe();
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('job', { func: probe.step(30, sequence) }));

    triggerEach(ev, go, 6);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(probe.max).toBe(6);
  });

  it("caps the tasks running at once across the eventor's steps", async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { maxConcurrent: 2 } });
    const probe = new ConcurrencyProbe();
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('a', { func: probe.step(20, () => `a${sequence()}`) }),
      ev.addStep('b', { func: probe.step(20, () => `b${sequence()}`) }),
    ]);

    triggerEach(ev, go, 3);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(probe.max).toBe(2);
    expect(probe.finished).toHaveLength(6);
  });

  it('starts tasks waiting for the global cap in the order they became ready', async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { maxConcurrent: 1 } });
    const probe = new ConcurrencyProbe();
    const go = ev.addEvent('go');
    const next = ev.addEvent('next');
    ev.addAssoc(
      go,
      ev.addStep('first', { func: probe.step(5, () => `first${sequence()}`), triggers: { success: next } }),
    );
    ev.addAssoc(next, ev.addStep('second', { func: probe.step(5, () => `second${sequence()}`) }));

    triggerEach(ev, go, 3);
    await ev.run();

    expect(probe.max).toBe(1);
    expect(probe.started).toEqual(['first1', 'first2', 'first3', 'second1', 'second2', 'second3']);
  });

  it('keeps a task that waits for a cap in status ready (not allocate) until it starts', async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { maxConcurrent: 1 } });
    const seen: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('first', {
        func: async () => {
          await sleep(10);
          seen.push(...ev.tasks({ step: 'second' }).map((t) => t.status));
        },
      }),
      ev.addStep('second', { func: () => 'ran' }),
    ]);

    ev.triggerEvent(go, 1);
    await ev.run();

    expect(seen).toEqual(['ready']);
    expect(ev.tasks({ step: 'second' })[0]?.status).toBe('success');
  });

  it("caps a step's own tasks across sequences while other steps run freely", async () => {
    const box = sandbox();
    const ev = box.eventor();
    const capped = new ConcurrencyProbe();
    const free = new ConcurrencyProbe();
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('capped', { func: capped.step(15, sequence), config: { maxConcurrent: 1 } }),
      ev.addStep('free', { func: free.step(15, sequence) }),
    ]);

    triggerEach(ev, go, 4);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(capped.max).toBe(1);
    expect(capped.started).toEqual(['1', '2', '3', '4']);
    expect(free.max).toBe(4);
  });

  it('lets tasks of other steps pass a task that waits for its own step cap', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const order: string[] = [];
    const go = ev.addEvent('go');
    const wait = (name: string, ms: number) => async () => {
      order.push(`${name}${sequence()}`);
      await sleep(ms);
    };
    ev.addAssoc(go, [
      ev.addStep('slow', { func: wait('slow', 40), config: { maxConcurrent: 1 } }),
      ev.addStep('quick', { func: wait('quick', 1) }),
    ]);

    triggerEach(ev, go, 2);
    await ev.run();

    // slow2 waits for slow1; quick2 does not wait behind slow2
    expect(order.indexOf('quick2')).toBeLessThan(order.indexOf('slow2'));
  });

  it('applies both caps together', async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { maxConcurrent: 3 } });
    const all = new ConcurrencyProbe();
    let cappedRunning = 0;
    let cappedMax = 0;
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('capped', {
        func: async () => {
          cappedRunning += 1;
          cappedMax = Math.max(cappedMax, cappedRunning);
          await all.step(15, sequence)();
          cappedRunning -= 1;
        },
        config: { maxConcurrent: 2 },
      }),
      ev.addStep('other', { func: all.step(15, sequence) }),
    ]);

    triggerEach(ev, go, 5);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(all.max).toBe(3);
    expect(cappedMax).toBe(2);
    expect(all.finished).toHaveLength(10);
  });
});
