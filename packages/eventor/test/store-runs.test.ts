// A store's runs across Eventor objects and processes, whatever the store: state kept between
// objects, a run held by one live holder at a time (in this process or another), and two busy runs
// side by side.
import { describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import { StoreError } from '../src/index.js';
import { buildChainFlow, buildHoldFlow } from './fixtures-core/flows.mjs';
import { FlowChild } from './helpers/child.js';
import { deferred, sandbox } from './helpers/sandbox.js';

/** What `fn` throws (fails the test when it throws nothing). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, but nothing was thrown');
}

describe('a store across Eventor objects', () => {
  it('keeps state across Eventor objects: a reopened store lists the tasks of earlier runs', async () => {
    const box = sandbox();
    const first = box.track(buildHoldFlow(lib, { store: box.store, runId: 'r1' }));
    await first.run();
    first.close();

    const reopened = box.track(buildHoldFlow(lib, { store: box.store, runId: 'r1', runMode: 'continue' }));
    expect(reopened.tasks().map((t) => [t.step, t.status, t.result])).toEqual([['hold', 'success', 'held']]);
  });
});

describe('run lease', () => {
  it('refuses a second Eventor object in this process on a run that another object is running', async () => {
    const box = sandbox();
    const hold = deferred();
    const live = box.track(buildHoldFlow(lib, { store: box.store, runId: 'busy', hold: () => hold.promise }));
    const running = live.run();

    const second = box.eventor({ runId: 'busy', runMode: 'continue' });
    const error = thrownBy(() => second.runId);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain(`pid ${process.pid}`);

    hold.resolve();
    expect((await running).status).toBe('success');
    live.close();
    const after = box.track(buildHoldFlow(lib, { store: box.store, runId: 'busy', runMode: 'continue' }));
    expect((await after.run()).status).toBe('success');
  });

  it('does not hold a finished run: reading tasks() and pending() afterwards does not block a recover', async () => {
    const box = sandbox();
    const first = box.track(buildHoldFlow(lib, { store: box.store, runId: 'finished' }));
    expect((await first.run()).status).toBe('success');
    expect(first.tasks()).toHaveLength(1);
    expect(first.pending().count).toBe(0);

    // `first` stays open, as in a long-lived process that reports on its runs
    const recover = box.track(
      buildHoldFlow(lib, { store: box.store, runId: 'finished', runMode: 'recover' }),
    );
    expect(await recover.run()).toMatchObject({ status: 'success', recovery: 1 });
  });

  it("refuses to recover a run that a live child process holds, naming the child's pid, and recovers it once the child exits", async () => {
    const box = sandbox();
    const child = new FlowChild(['hold', box.store, 'held-run']);
    await child.next('holding');

    const attempt = box.eventor({ runId: 'held-run', runMode: 'recover' });
    const error = thrownBy(() => attempt.runId);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain(`pid ${child.pid}`);
    expect((error as Error).message).toContain('held-run');

    child.send({ type: 'release' });
    const done = await child.next('done');
    expect(done.result).toMatchObject({ status: 'success', runId: 'held-run' });
    expect((await child.exited).code).toBe(0);

    const recovered = box.track(
      buildHoldFlow(lib, { store: box.store, runId: 'held-run', runMode: 'recover' }),
    );
    expect(await recovered.run()).toMatchObject({ status: 'success', recovery: 1 });
    expect(recovered.tasks({ recovery: 1 })[0]).toMatchObject({ step: 'hold', skipped: true });
  });

  it('lets a run be recovered at once after its process was killed with SIGKILL', async () => {
    const box = sandbox();
    const child = new FlowChild(['hold', box.store, 'killed-run']);
    await child.next('holding');
    await child.kill();

    const recovered = box.track(
      buildHoldFlow(lib, { store: box.store, runId: 'killed-run', runMode: 'recover' }),
    );
    const result = await recovered.run();

    expect(result).toMatchObject({ status: 'success', runId: 'killed-run', recovery: 1 });
    expect(recovered.tasks().map((t) => `${t.step}/${t.recovery}/${t.status}`)).toEqual([
      'hold/0/active',
      'hold/1/success',
    ]);
  });

  it('lets another run in the same store go on while a child process holds its own run', async () => {
    const box = sandbox();
    const child = new FlowChild(['hold', box.store, 'child-run']);
    await child.next('holding');

    const mine = box.track(buildHoldFlow(lib, { store: box.store, runId: 'parent-run' }));
    const result = await mine.run();
    child.send({ type: 'release' });
    const done = await child.next('done');

    expect(result).toMatchObject({ status: 'success', runId: 'parent-run' });
    expect(done.result).toMatchObject({ status: 'success', runId: 'child-run' });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'ends the run recoverable on %s with handleSignals: true, and a recover reruns the stopped step',
    async (signal) => {
      const box = sandbox();
      const child = new FlowChild(['signal', box.store, 'signalled']);
      await child.next('holding');
      child.process.kill(signal);
      const done = await child.next('done');
      expect((await child.exited).code).toBe(0);

      expect(done.result).toMatchObject({ ok: false, status: 'failure', runId: 'signalled' });
      expect(done.tasks).toEqual([
        { step: 'hold', status: 'failure', error: expect.stringContaining(signal) },
      ]);

      const recovered = box.track(
        buildHoldFlow(lib, { store: box.store, runId: 'signalled', runMode: 'recover' }),
      );
      expect(await recovered.run()).toMatchObject({ status: 'success', recovery: 1 });
      expect(recovered.tasks({ recovery: 1 })[0]).toMatchObject({
        step: 'hold',
        skipped: false,
        result: 'held',
      });
    },
  );
});

describe('one store, two processes', () => {
  it('runs two busy runs side by side, one in a child process, without a busy or locked error', async () => {
    const box = sandbox();
    const child = new FlowChild(['chain', box.store, 'child-chain', '300']);
    await child.next('ready');
    const mine = box.track(buildChainFlow(lib, { store: box.store, runId: 'parent-chain', length: 300 }));

    child.send({ type: 'go' });
    const [result, done] = await Promise.all([mine.run(), child.next('done', 60_000)]);

    expect(result).toMatchObject({ status: 'success', runId: 'parent-chain' });
    expect(mine.tasks({ status: 'success' })).toHaveLength(300);
    expect(done.result).toMatchObject({ status: 'success', runId: 'child-chain' });
    expect(done.tasks).toBe(300);
  });
});
