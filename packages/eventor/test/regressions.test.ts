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
      ev.addStep('hold', {
        func: () => 1,
        acquires: [[pool, 1]],
        releases: [],
        triggers: { success: [held] },
      }),
    );
    ev.addAssoc(held, [
      ev.addStep('waiter', { func: () => 2, acquires: [[pool, 1]] }),
      ev.addStep('free', { releases: [[pool, 1]] }),
    ]);
    ev.triggerEvent(go, 1);

    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(ev.tasks().map((t) => `${t.step}:${t.status}`)).toEqual([
      'hold:success',
      'waiter:success',
      'free:success',
    ]);
    expect(pool.used).toBe(0);
  });

  it('keeps the success of a step that ended just before stop(), and starts nothing after it', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const next = ev.addEvent('next');
    const ran: string[] = [];
    ev.addAssoc(
      go,
      ev.addStep('last_word', {
        func: async () => {
          ev.stop('maintenance');
          return 'finished anyway';
        },
        triggers: { success: [next] },
      }),
    );
    ev.addAssoc(next, ev.addStep('after', { func: () => ran.push('after') }));
    ev.triggerEvent(go, 1);

    const result = await ev.run();

    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(ev.tasks().map((t) => `${t.step}:${t.status}`)).toEqual(['last_word:success', 'after:ready']);
    expect(ev.tasks({ step: 'last_word' })[0]?.result).toBe('finished anyway');
    expect(ran).toEqual([]);
  });
});
