import { describe, expect, it } from 'vitest';
import { currentStep, FlowDefinitionError, ResourcePool } from '../src/index.js';
import { deferred, sandbox, within } from './helpers/sandbox.js';

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

  it('lets a step trigger an event and wait for the step it starts, while it is still running', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const work = ev.addEvent('work');
    const done = deferred<string>();
    ev.addAssoc(
      go,
      ev.addStep('producer', {
        func: async () => {
          ev.triggerEvent(work, currentStep().sequence);
          return await done.promise;
        },
      }),
    );
    ev.addAssoc(work, ev.addStep('consumer', { func: () => done.resolve('consumed') }));
    ev.triggerEvent(go, 1);

    const result = await within(ev.run(), 3000, 'the producer waits for the consumer it triggered');

    expect(result.ok).toBe(true);
    expect(ev.tasks({ step: 'producer' })[0]?.result).toBe('consumed');
  });

  it('refuses the same assoc defined again with another delay', () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const step = ev.addStep('later');
    ev.addAssoc(go, step, { delay: '1s' });
    ev.addAssoc(go, step, { delay: 1000 });
    expect(() => ev.addAssoc(go, step, { delay: '2s' })).toThrow(FlowDefinitionError);
    expect(() => ev.addAssoc(go, step, { delay: '2s' })).toThrow(/already defined with a delay of 1000 ms/);
  });

  it('closes a pending delay whose assoc the program no longer defines, with a warning', async () => {
    const box = sandbox();
    const first = box.eventor();
    const go = first.addEvent('go');
    first.addAssoc(go, first.addStep('later'), { delay: '1h' });
    first.triggerEvent(go, 1);
    expect(await first.run({ maxLoops: 1 })).toMatchObject({ status: 'incomplete' });
    first.close();

    const next = box.eventor({ runMode: 'continue' });
    next.addEvent('go');
    next.addStep('later');
    const result = await next.run();

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(next.pending().count).toBe(0);
    expect(box.logger.at('warn').some((record) => record.msg?.includes('no longer defines that assoc'))).toBe(
      true,
    );
  });
});
