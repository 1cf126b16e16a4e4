import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Eventor, FlowConfigError, StoreError } from '../src/index.js';
import { FlowChild } from './helpers/child.js';
import { sandbox } from './helpers/sandbox.js';

const OPENER = fileURLToPath(new URL('./fixtures-store/opener.mjs', import.meta.url));

async function openers(count: number): Promise<FlowChild[]> {
  const children = Array.from({ length: count }, () => new FlowChild([], OPENER));
  await Promise.all(children.map((child) => child.next('ready', 20_000)));
  return children;
}

/** A one-step flow on `store`, run to its end (its first write is the run's row). */
async function runOneStep(store: string, busyTimeout: string) {
  const ev = new Eventor({ name: 'writer', store, busyTimeout, logLevel: 'silent' });
  try {
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s', { func: () => 'done' }));
    ev.triggerEvent(go);
    return await ev.run();
  } finally {
    ev.close();
  }
}

describe('several processes on one store', () => {
  it('creates the schema once when 8 processes open one fresh store at once, 30 times over', async () => {
    const box = sandbox('processes');
    const children = await openers(8);
    const failures: string[] = [];
    for (let round = 0; round < 30; round++) {
      const store = box.anotherStore(`fresh-${round}.run.db`);
      // every child opens at the same instant, so their schema checks overlap
      const at = Date.now() + 40;
      for (const child of children) child.send({ type: 'open', store, at });
      const replies = await Promise.all(children.map((child) => child.next('opened', 20_000)));
      for (const reply of replies) {
        if (!reply.ok)
          failures.push(`round ${round}, pid ${reply.pid}: ${String(reply.code)} ${String(reply.message)}`);
      }
      // and the store they made is sound
      const ev = box.eventor({ store });
      const go = ev.addEvent('go');
      ev.addAssoc(go, ev.addStep('s'));
      ev.triggerEvent(go);
      expect((await ev.run()).ok).toBe(true);
      ev.close();
    }
    for (const child of children) child.send({ type: 'exit' });
    expect(failures).toEqual([]);
  }, 120_000);

  it('waits for another process to end its write when busyTimeout is long enough', async () => {
    const box = sandbox('processes');
    new Eventor({ name: 'writer', store: box.store, logLevel: 'silent' }).close();
    const [holder] = (await openers(1)) as [FlowChild];
    holder.send({ type: 'hold', store: box.store, ms: 1_000 });
    await holder.next('holding');
    const started = Date.now();
    const result = await runOneStep(box.store, '20s');

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    await holder.next('released');
  });

  it('fails with a StoreError naming busyTimeout when another process writes for longer', async () => {
    const box = sandbox('processes');
    new Eventor({ name: 'writer', store: box.store, logLevel: 'silent' }).close();
    const [holder] = (await openers(1)) as [FlowChild];
    holder.send({ type: 'hold', store: box.store, ms: 1_500 });
    await holder.next('holding');
    const started = Date.now();
    const error = await runOneStep(box.store, '300ms').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/busyTimeout \(300ms\)/);
    expect(Date.now() - started).toBeLessThan(1_400);
    await holder.next('released', 10_000);
  });

  it('refuses a bad busyTimeout with a FlowConfigError naming it', () => {
    const box = sandbox('processes');
    for (const busyTimeout of ['soon', -5, '10 parsecs'] as const) {
      expect(() => new Eventor({ store: box.store, busyTimeout })).toThrow(FlowConfigError);
      expect(() => new Eventor({ store: box.store, busyTimeout })).toThrow(
        /"busyTimeout" has a bad duration/,
      );
    }
  });
});
