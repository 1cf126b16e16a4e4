// Leases: a run's holder renews its lease while it runs; a holder silent past `leaseTtl` lapses and
// another process may take the run over; the old holder then writes nothing (every commit checks the
// lease token in its transaction) and ends with StoreError FLOW_LEASE_LOST.

import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import { currentStep, FlowConfigError, StoreError } from '../src/index.js';
import { buildHoldFlow } from './fixtures-core/flows.mjs';
import { type ChildMessage, FlowChild } from './helpers/child.js';
import { storeSql } from './helpers/raw-store.js';
import { deferred, sandbox } from './helpers/sandbox.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('leases', () => {
  it('ends the run with FLOW_LEASE_LOST, writing nothing more, when another holder took its lease mid-run', async () => {
    const box = sandbox();
    const ev = box.eventor({ runId: 'stolen' });
    const go = ev.addEvent('go');
    const after = ev.addEvent('after');
    ev.addAssoc(
      go,
      ev.addStep('steal', {
        func: async () => {
          // what a process that took the run over after a pause leaves in the row
          await storeSql(
            box.store,
            "UPDATE runs SET lease_token = 'thief', lease_pid = 1 WHERE id = ?",
            currentStep().runId,
          );
          return 'done';
        },
        triggers: { success: [after] },
      }),
    );
    let ranAfter = false;
    ev.addAssoc(after, ev.addStep('next', { func: () => (ranAfter = true) }));
    ev.triggerEvent(go, 1);

    const error = await ev.run().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );

    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ code: 'FLOW_LEASE_LOST' });
    expect((error as Error).message).toContain('"stolen"');
    expect((error as Error).message).toContain('leaseTtl');
    expect(ranAfter).toBe(false);
    // the step's success was not committed: the row is as the pass before left it
    expect(await storeSql(box.store, 'SELECT step, status FROM tasks')).toEqual([
      { step: 'steal', status: 'active' },
    ]);
    expect(await storeSql(box.store, 'SELECT lease_token FROM runs')).toEqual([{ lease_token: 'thief' }]);
  });

  it('renews the lease while a step runs longer than leaseTtl, so the run cannot be taken over', async () => {
    const box = sandbox();
    const hold = deferred();
    const ev = box.eventor({ runId: 'renewed', leaseTtl: '300ms' });
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('slow', { func: () => hold.promise.then(() => 'slow') }));
    ev.triggerEvent(go, 1);
    const running = ev.run();

    await sleep(1_000); // more than three times the lease
    const other = box.eventor({ runId: 'renewed', runMode: 'recover' });
    expect(() => other.runId).toThrow(StoreError);
    expect(() => other.runId).toThrow(/renewed/);

    hold.resolve();
    expect(await running).toMatchObject({ ok: true, status: 'success' });
  });

  it('takes over a holder frozen with SIGSTOP past leaseTtl; resumed, the old holder writes nothing and ends FLOW_LEASE_LOST', async () => {
    const box = sandbox();
    const child = new FlowChild(['hold', box.store, 'frozen', '500ms']);
    await child.next('holding');
    process.kill(child.pid, 'SIGSTOP');
    try {
      // while the lease is fresh the frozen holder still counts as alive
      expect(() => box.eventor({ runId: 'frozen', runMode: 'recover' }).runId).toThrow(StoreError);
      await sleep(900);

      const taker = box.track(buildHoldFlow(lib, { store: box.store, runId: 'frozen', runMode: 'recover' }));
      expect(await taker.run()).toMatchObject({ ok: true, status: 'success', recovery: 1 });
      taker.close();
      // sent while it is stopped, so it is there when it wakes: its step then ends, and the pass
      // that would record it meets a lease no longer its own (unless its renewal notices first)
      child.send({ type: 'release' });
    } finally {
      process.kill(child.pid, 'SIGCONT');
    }

    const done = await child.next('done');
    expect(done.error).toMatchObject({ name: 'StoreError', code: 'FLOW_LEASE_LOST' });
    expect((await child.exited).code).toBe(0);
    // the old holder's step never got its success written, and the run keeps the taker's outcome
    expect(
      await storeSql(box.store, "SELECT recovery, status FROM tasks WHERE step = 'hold' ORDER BY recovery"),
    ).toEqual([
      { recovery: 0, status: 'active' },
      { recovery: 1, status: 'success' },
    ]);
    expect(await storeSql(box.store, 'SELECT status, recovery FROM runs')).toEqual([
      { status: 'success', recovery: 1 },
    ]);
  });

  it('lets one of two processes started at once on a run drive it; the other gets StoreError naming the holder', async () => {
    const box = sandbox();
    for (let round = 0; round < 3; round++) {
      const runId = `contested-${round}`;
      // the run exists and nobody holds it: both processes continue it
      buildHoldFlow(lib, { store: box.store, runId }).close();
      const children = [0, 1].map(() => new FlowChild(['hold', box.store, runId, '-', 'continue']));
      // the holder says it holds; the other one says it is done, refused
      const first = await Promise.all(children.map((child) => child.next(['holding', 'done'], 20_000)));
      expect(first.map((message) => message.type).sort()).toEqual(['done', 'holding']);
      const holder = children[first.findIndex((message) => message.type === 'holding')] as FlowChild;
      const refused = first.find((message) => message.type === 'done') as ChildMessage;
      expect(refused.error).toMatchObject({ name: 'StoreError', code: 'FLOW_STORE_IN_USE' });
      expect((refused.error as { message: string }).message).toContain(`pid ${holder.pid} on ${hostname()}`);
      holder.send({ type: 'release' });
      expect((await holder.next('done')).result).toMatchObject({ ok: true, status: 'success' });
      for (const child of children) expect((await child.exited).code).toBe(0);
      expect(await storeSql(box.store, 'SELECT status, attempts FROM tasks WHERE run_id = ?', runId)).toEqual(
        [{ status: 'success', attempts: 1 }],
      );
    }
  });

  it.each([
    ['10ms', /at least 100ms/],
    ['soon', /leaseTtl/],
    [-1, /leaseTtl/],
  ])('refuses leaseTtl %j with a FlowConfigError that says what it takes', (leaseTtl, message) => {
    const box = sandbox();
    expect(() => box.eventor({ leaseTtl: leaseTtl as never })).toThrow(FlowConfigError);
    expect(() => box.eventor({ leaseTtl: leaseTtl as never })).toThrow(message);
  });
});
