import { describe, expect, it } from 'vitest';
import type { EventorOptions } from '../src/index.js';
import { type Sandbox, sandbox, sleep } from './helpers/sandbox.js';

/** go -> first; first's success -> (after `delayMs`) second. Calls are counted across eventors. */
function delayedPair(box: Sandbox, calls: string[], delayMs: number, options: EventorOptions = {}) {
  const ev = box.eventor(options);
  const go = ev.addEvent('go');
  const next = ev.addEvent('next');
  ev.addAssoc(go, ev.addStep('first', { func: () => calls.push('first'), triggers: { success: next } }));
  ev.addAssoc(next, ev.addStep('second', { func: () => calls.push('second') }), { delay: delayMs });
  return { ev, go, next };
}

describe('runMode continue', () => {
  it('keeps fired triggers and finished tasks, and fires a delay once it is due', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const first = delayedPair(box, calls, 300);
    first.ev.triggerEvent(first.go, 1);
    const r0 = await first.ev.run({ maxLoops: 1 });
    first.ev.close();
    expect(r0.status).toBe('incomplete');
    expect(calls).toEqual(['first']);

    const early = delayedPair(box, calls, 300, { runMode: 'continue' });
    expect(early.ev.triggerEvent(early.go, 1)).toBe(false);
    const r1 = await early.ev.run({ maxLoops: 1 });
    const wait = early.ev.pending().nextDelayIn;
    early.ev.close();
    expect(r1).toMatchObject({ status: 'incomplete', runId: r0.runId, recovery: 0 });
    expect(calls).toEqual(['first']);

    expect(wait).toBeGreaterThan(0);
    await sleep(wait! + 20);
    const late = delayedPair(box, calls, 300, { runMode: 'continue' });
    expect(late.ev.triggerEvent(late.go, 1)).toBe(false);
    const r2 = await late.ev.run({ maxLoops: 1 });

    expect(r2).toMatchObject({ ok: true, status: 'success', runId: r0.runId, recovery: 0 });
    expect(calls).toEqual(['first', 'second']);
    expect(late.ev.tasks().map((t) => `${t.step}:${t.status}`)).toEqual(['first:success', 'second:success']);
  });

  it('does nothing when an already fired event is triggered again', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const first = delayedPair(box, calls, 0);
    first.ev.triggerEvent(first.go, 1);
    expect((await first.ev.run()).status).toBe('success');
    first.ev.close();

    const again = delayedPair(box, calls, 0, { runMode: 'continue' });
    expect(again.ev.triggerEvent(again.go, 1)).toBe(false);
    expect(again.ev.triggerEvent(again.next, 1)).toBe(false);
    const result = await again.ev.run();

    expect(result.status).toBe('success');
    expect(calls).toEqual(['first', 'second']);
    expect(again.ev.tasks()).toHaveLength(2);
  });

  it('runs a sequence triggered for the first time in the continued run', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const first = delayedPair(box, calls, 0);
    first.ev.triggerEvent(first.go, 1);
    await first.ev.run();
    first.ev.close();

    const again = delayedPair(box, calls, 0, { runMode: 'continue' });
    expect(again.ev.triggerEvent(again.go, 2)).toBe(true);
    await again.ev.run();

    expect(again.ev.tasks().map((t) => `${t.step}/${t.sequence}`)).toEqual([
      'first/1',
      'second/1',
      'first/2',
      'second/2',
    ]);
  });

  it('acts on triggers that were recorded but never acted on', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const first = delayedPair(box, calls, 0);
    first.ev.triggerEvent(first.go, 1);
    // closed before run(): the trigger is in the store, nothing acted on it
    first.ev.close();

    const again = delayedPair(box, calls, 0, { runMode: 'continue' });
    expect(again.ev.pending().count).toBe(1);
    const result = await again.ev.run();

    expect(result.status).toBe('success');
    expect(calls).toEqual(['first', 'second']);
  });

  it('continues the given runId, not the latest run', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const a = delayedPair(box, calls, 200, { runId: 'z-first' });
    a.ev.triggerEvent(a.go, 1);
    await a.ev.run({ maxLoops: 1 });
    a.ev.close();
    await sleep(5);
    const b = delayedPair(box, calls, 200, { runId: 'a-second' });
    b.ev.triggerEvent(b.go, 1);
    await b.ev.run({ maxLoops: 1 });
    b.ev.close();
    expect(calls).toEqual(['first', 'first']);

    const cont = delayedPair(box, calls, 200, { runMode: 'continue', runId: 'z-first' });
    const result = await cont.ev.run();
    cont.ev.close();

    expect(result).toMatchObject({ runId: 'z-first', status: 'success' });
    expect(calls).toEqual(['first', 'first', 'second']);
    const latest = delayedPair(box, calls, 200, { runMode: 'continue' });
    expect(latest.ev.runId).toBe('a-second');
    expect(latest.ev.pending().count).toBe(1);
  });

  it('keeps an unhandled failure: a continued run still ends failure and reruns nothing', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const build = (options: EventorOptions) => {
      const ev = box.eventor(options);
      const go = ev.addEvent('go');
      ev.addAssoc(
        go,
        ev.addStep('bad', {
          func: () => {
            calls.push('bad');
            throw new Error('broken');
          },
        }),
      );
      return { ev, go };
    };
    const first = build({});
    first.ev.triggerEvent(first.go, 1);
    expect((await first.ev.run()).status).toBe('failure');
    first.ev.close();

    const again = build({ runMode: 'continue' });
    const result = await again.ev.run();

    expect(result).toMatchObject({ ok: false, status: 'failure', recovery: 0 });
    expect(calls).toEqual(['bad']);
  });
});
