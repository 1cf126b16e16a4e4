import { describe, expect, it } from 'vitest';
import { currentStep, type EventorOptions, FlowDefinitionError, ResourcePool } from '../src/index.js';
import { ConcurrencyProbe, type Sandbox, sandbox, sleep, within } from './helpers/sandbox.js';

describe('ResourcePool', () => {
  it('moves a task that waits for a pool from ready to allocate, then to active when the pool has room', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const pool = new ResourcePool('db', { limit: 1 });
    const seenByHolder: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('holder', {
        func: async () => {
          await sleep(20);
          seenByHolder.push(...ev.tasks({ step: 'waiter' }).map((t) => t.status));
        },
        acquires: [[pool, 1]],
      }),
      ev.addStep('waiter', { func: () => 'got it', acquires: [[pool, 1]] }),
    ]);

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(seenByHolder).toEqual(['allocate']);
    expect(ev.tasks({ step: 'waiter' })[0]).toMatchObject({ status: 'success', result: 'got it' });
    expect(pool.used).toBe(0);
  });

  it('serves waiting tasks first come, first served', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const pool = new ResourcePool('gpu', { limit: 1 });
    const probe = new ConcurrencyProbe();
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('job', { func: probe.step(10, () => currentStep().sequence), acquires: [[pool, 1]] }),
    );

    for (const sequence of ['5', '3', '9', '1', '7']) ev.triggerEvent(go, sequence);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(probe.max).toBe(1);
    expect(probe.started).toEqual(['5', '3', '9', '1', '7']);
  });

  it('does not let a small claim overtake a bigger one that is waiting ahead of it', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const pool = new ResourcePool('slots', { limit: 2 });
    const order: string[] = [];
    const go = ev.addEvent('go');
    const step = (name: string, amount: number, ms: number) =>
      ev.addStep(name, {
        func: async () => {
          order.push(`${name}:start`);
          await sleep(ms);
          order.push(`${name}:end`);
        },
        acquires: [[pool, amount]],
      });
    ev.addAssoc(go, [step('one', 1, 40), step('two', 2, 20), step('small', 1, 5)]);

    ev.triggerEvent(go, 1);
    await ev.run();

    // 'small' would fit next to 'one' at once, but 'two' was waiting first
    expect(order).toEqual(['one:start', 'one:end', 'two:start', 'two:end', 'small:start', 'small:end']);
  });

  it('releases what a step acquired when it succeeds or fails (releases defaults to acquires)', async () => {
    const box = sandbox();
    const ev = box.eventor({ config: { stopOnException: false } });
    const pool = new ResourcePool('conn', { limit: 1 });
    const calls: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('fails', {
        func: () => {
          calls.push('fails');
          throw new Error('no');
        },
        acquires: [[pool, 1]],
      }),
      ev.addStep('succeeds', { func: () => calls.push('succeeds'), acquires: [[pool, 1]] }),
      ev.addStep('last', { func: () => calls.push('last'), acquires: [[pool, 1]] }),
    ]);

    ev.triggerEvent(go, 1);
    await ev.run();

    expect(calls).toEqual(['fails', 'succeeds', 'last']);
    expect(pool.used).toBe(0);
  });

  it('keeps resources after a step with releases: [] until a later step releases them', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const pool = new ResourcePool('lock', { limit: 1 });
    const usedDuring: Record<string, number> = {};
    const go = ev.addEvent('go');
    const toUse = ev.addEvent('to_use');
    const toRelease = ev.addEvent('to_release');
    const toAfter = ev.addEvent('to_after');
    ev.addAssoc(
      go,
      ev.addStep('take', {
        func: () => {
          usedDuring.take = pool.used;
        },
        acquires: [[pool, 1]],
        releases: [],
        triggers: { success: toUse },
      }),
    );
    ev.addAssoc(
      toUse,
      ev.addStep('use', {
        func: () => {
          usedDuring.use = pool.used;
        },
        triggers: { success: toRelease },
      }),
    );
    ev.addAssoc(
      toRelease,
      ev.addStep('give_back', {
        func: () => {
          usedDuring.give_back = pool.used;
        },
        releases: [[pool, 1]],
        triggers: { success: toAfter },
      }),
    );
    ev.addAssoc(
      toAfter,
      ev.addStep('after', {
        func: () => {
          usedDuring.after = pool.used;
        },
        acquires: [[pool, 1]],
      }),
    );

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(usedDuring).toEqual({ take: 1, use: 1, give_back: 1, after: 1 });
    expect(pool.used).toBe(0);
  });

  it('leaves a task waiting in allocate while resources kept by releases: [] are never given back', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const pool = new ResourcePool('lock', { limit: 1 });
    const calls: string[] = [];
    const go = ev.addEvent('go');
    const next = ev.addEvent('next');
    ev.addAssoc(
      go,
      ev.addStep('take', {
        func: () => calls.push('take'),
        acquires: [[pool, 1]],
        releases: [],
        triggers: { success: next },
      }),
    );
    ev.addAssoc(next, ev.addStep('blocked', { func: () => calls.push('blocked'), acquires: [[pool, 1]] }));

    ev.triggerEvent(go, 1);
    const result = await within(
      ev.run(),
      2000,
      'run() should end when the only task left waits for resources that no running step will release, but it hangs',
    );

    expect(calls).toEqual(['take']);
    // work is left that this run cannot do: not a success
    expect(['incomplete', 'failure']).toContain(result.status);
    expect(ev.tasks({ step: 'blocked' })[0]?.status).toBe('allocate');
    expect(box.logger.at('warn').some((record) => record.msg?.includes('blocked'))).toBe(true);
  });

  it('takes every claim of a step or none, across two pools', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const a = new ResourcePool('a', { limit: 1 });
    const b = new ResourcePool('b', { limit: 1 });
    const probe = new ConcurrencyProbe();
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('needs_a', { func: probe.step(20, () => 'needs_a'), acquires: [[a, 1]] }),
      ev.addStep('needs_both', {
        func: probe.step(20, () => 'needs_both'),
        acquires: [
          [a, 1],
          [b, 1],
        ],
      }),
      ev.addStep('needs_b', { func: probe.step(20, () => 'needs_b'), acquires: [[b, 1]] }),
    ]);

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(probe.started.indexOf('needs_both')).toBeGreaterThan(probe.started.indexOf('needs_a'));
    expect(a.used + b.used).toBe(0);
  });

  it('lets a pool with limit < 0 serve any number of tasks at once', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const pool = new ResourcePool('free', { limit: -1 });
    const probe = new ConcurrencyProbe();
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('job', { func: probe.step(20, () => currentStep().sequence), acquires: [[pool, 5]] }),
    );

    for (let i = 1; i <= 4; i++) ev.triggerEvent(go, i);
    await ev.run();

    expect(probe.max).toBe(4);
  });

  it('throws FlowDefinitionError at addStep when a step acquires more than the pool holds', () => {
    const box = sandbox();
    const ev = box.eventor();
    const pool = new ResourcePool('db-connections', { limit: 2 });

    expect(() => ev.addStep('greedy', { func: () => 1, acquires: [[pool, 3]] })).toThrow(FlowDefinitionError);
    expect(() => ev.addStep('greedy', { func: () => 1, acquires: [[pool, 3]] })).toThrow(
      /Step "greedy".*3.*"db-connections".*limit is 2/,
    );
  });

  it('shares one pool between two eventors in one process', async () => {
    const box = sandbox();
    const pool = new ResourcePool('shared', { limit: 1 });
    const probe = new ConcurrencyProbe();
    const build = (options: EventorOptions) => {
      const ev = box.eventor(options);
      const go = ev.addEvent('go');
      ev.addAssoc(go, ev.addStep('job', { func: probe.step(20, () => 'job'), acquires: [[pool, 1]] }));
      ev.triggerEvent(go, 1);
      return ev;
    };
    const first = build({ runId: 'one' });
    const second = build({ runId: 'two' });

    const results = await Promise.all([first.run(), second.run()]);

    expect(results.map((r) => r.status)).toEqual(['success', 'success']);
    expect(probe.started).toHaveLength(2);
    expect(probe.max).toBe(1);
  });
});

describe('resources in recovery', () => {
  /**
   * take (acquires the lock, keeps it, reruns in recovery) -> give_back (releases it) -> flaky ->
   * after (acquires the lock). In recovery give_back is skipped and must still release.
   */
  function build(box: Sandbox, runMode: 'restart' | 'recover', flakyFails: boolean, calls: string[]) {
    const ev = box.eventor({ runMode });
    const pool = new ResourcePool('lock', { limit: 1 });
    const go = ev.addEvent('go');
    const toGive = ev.addEvent('to_give');
    const toFlaky = ev.addEvent('to_flaky');
    const toAfter = ev.addEvent('to_after');
    const record = (name: string) => () => {
      calls.push(name);
    };
    ev.addAssoc(
      go,
      ev.addStep('take', {
        func: record('take'),
        acquires: [[pool, 1]],
        releases: [],
        recovery: { success: 'rerun' },
        triggers: { success: toGive },
      }),
    );
    ev.addAssoc(
      toGive,
      ev.addStep('give_back', {
        func: record('give_back'),
        releases: [[pool, 1]],
        triggers: { success: toFlaky },
      }),
    );
    ev.addAssoc(
      toFlaky,
      ev.addStep('flaky', {
        func: () => {
          calls.push('flaky');
          if (flakyFails) throw new Error('flaky');
        },
        triggers: { success: toAfter },
      }),
    );
    ev.addAssoc(toAfter, ev.addStep('after', { func: record('after'), acquires: [[pool, 1]] }));
    ev.triggerEvent(go, 1);
    return { ev, pool };
  }

  it('releases the resources of a task skipped by recovery', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const first = build(box, 'restart', true, calls);
    expect((await first.ev.run()).status).toBe('failure');
    first.ev.close();

    const second = build(box, 'recover', false, calls);
    const result = await second.ev.run();

    expect(result).toMatchObject({ status: 'success' });
    expect(calls).toEqual(['take', 'give_back', 'flaky', 'take', 'flaky', 'after']);
    expect(second.ev.tasks({ recovery: 1, step: 'give_back' })[0]?.skipped).toBe(true);
    expect(second.pool.used).toBe(0);
  });
});
