import { describe, expect, it } from 'vitest';
import type { EventRef } from '../src/index.js';
import { type Sandbox, sandbox } from './helpers/sandbox.js';

const noop = () => {};

/** A chain of `count` no-op steps, each one's success firing the next one's event. */
function chain(box: Sandbox, count: number, runMode: 'restart' | 'recover') {
  const ev = box.eventor({ runMode });
  const events: EventRef[] = [];
  for (let i = 0; i <= count; i++) events.push(ev.addEvent(`e${i}`));
  for (let i = 0; i < count; i++) {
    ev.addAssoc(
      events[i] as EventRef,
      ev.addStep(`s${i}`, { func: noop, triggers: { success: [events[i + 1] as EventRef] } }),
    );
  }
  ev.triggerEvent(events[0] as EventRef, 1);
  return ev;
}

describe('the cost of a recovery', () => {
  // every skipped task looks up what its body fired; that lookup searched all of the recovery's
  // triggers (the planner chose the primary key), so recovering n tasks cost n^2: 36x the first run at 20,000
  it('recovers an 8,000-step chain that succeeded in about the time its first run took, not quadratically more', async () => {
    const box = sandbox('recovery-cost');
    const count = 8_000;
    const first = chain(box, count, 'restart');
    let start = performance.now();
    expect((await first.run()).ok).toBe(true);
    const firstMs = performance.now() - start;
    first.close();

    const again = chain(box, count, 'recover');
    start = performance.now();
    expect(await again.run()).toMatchObject({ ok: true, recovery: 1 });
    const recoverMs = performance.now() - start;

    expect(again.tasks({ recovery: 1 }).filter((task) => task.skipped)).toHaveLength(count);
    expect(recoverMs, `first run ${firstMs.toFixed(0)} ms, recover ${recoverMs.toFixed(0)} ms`).toBeLessThan(
      firstMs * 2.5,
    );
  }, 60_000);
});
