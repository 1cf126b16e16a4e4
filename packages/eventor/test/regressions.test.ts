import { describe, expect, it } from 'vitest';
import { ResourcePool } from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

describe('regressions', () => {
  it('starts a task waiting for a pool that a no-op step released later in the same pass', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const pool = new ResourcePool('p', { limit: 1 });
    const go = ev.addEvent('go');
    const held = ev.addEvent('held');
    ev.addAssoc(
      go,
      ev.addStep('hold', { func: () => 1, acquires: [[pool, 1]], releases: [], triggers: { success: [held] } }),
    );
    ev.addAssoc(held, [
      ev.addStep('waiter', { func: () => 2, acquires: [[pool, 1]] }),
      ev.addStep('free', { releases: [[pool, 1]] }),
    ]);
    ev.triggerEvent(go, 1);

    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(ev.tasks().map((t) => `${t.step}:${t.status}`)).toEqual(['hold:success', 'waiter:success', 'free:success']);
    expect(pool.used).toBe(0);
  });
});
