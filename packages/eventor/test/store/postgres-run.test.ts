import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Eventor, type EventorOptions, type EventRef, ResourcePool, TestClock } from '../../src/index.js';
import { recoveryFlow } from '../helpers/flows.js';
import { schemaOf, testDatabase } from '../helpers/postgres.js';

const db = testDatabase('run');

/** An Eventor on `store`, quiet, closed when the test ends. */
function eventor(store: string, options: EventorOptions = {}): Eventor {
  const ev = new Eventor({ name: 'pg', store, logLevel: 'silent', ...options });
  onTestFinished(() => ev.close());
  return ev;
}

function chain(ev: Eventor, length: number, calls: string[] = []): EventRef {
  const events = Array.from({ length: length + 1 }, (_, i) => ev.addEvent(`e${i}`));
  for (let i = 0; i < length; i++) {
    const step = ev.addStep(`c${i}`, {
      func: async (n: number) => {
        calls.push(`c${n}`);
        return n * 2;
      },
      args: [i],
      triggers: { success: [events[i + 1] as EventRef] },
    });
    ev.addAssoc(events[i] as EventRef, step);
  }
  return events[0] as EventRef;
}

describe('a flow on a PostgreSQL store', () => {
  it('runs a chain to success, each step after the one before, and reads its tasks back', async () => {
    const ev = eventor(db.store('chain'));
    const calls: string[] = [];
    ev.triggerEvent(chain(ev, 25, calls));
    expect(ev.pending()).toEqual({ count: 1, nextDelayIn: null });
    const result = await ev.run();
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 0 });
    expect(calls).toEqual(Array.from({ length: 25 }, (_, i) => `c${i}`));
    const tasks = ev.tasks();
    expect(tasks.map((t) => [t.step, t.status, t.attempts, t.result])).toEqual(
      Array.from({ length: 25 }, (_, i) => [`c${i}`, 'success', 1, i * 2]),
    );
    expect(ev.pending()).toEqual({ count: 0, nextDelayIn: null });
  });

  it('runs a fan-out of 2,000 steps under a cap and a pool, every one once', async () => {
    const store = db.store('fanout');
    const ev = eventor(store, { config: { maxConcurrent: 50 } });
    const pool = new ResourcePool('slots', { limit: 20 });
    const go = ev.addEvent('go');
    let running = 0;
    let most = 0;
    const steps = Array.from({ length: 2_000 }, (_, i) =>
      ev.addStep(`f${i}`, {
        func: async () => {
          running += 1;
          most = Math.max(most, running);
          await new Promise((resolve) => setImmediate(resolve));
          running -= 1;
          return i;
        },
        acquires: [[pool, 1]],
      }),
    );
    ev.addAssoc(go, steps);
    ev.triggerEvent(go);
    const result = await ev.run();
    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(most).toBeLessThanOrEqual(20);
    const rows = await db.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM ${schemaOf(store)}.tasks GROUP BY status`,
    );
    expect(rows).toEqual([{ status: 'success', n: '2000' }]);
    expect(ev.tasks({ status: 'success' })).toHaveLength(2_000);
    expect(ev.tasks({ limit: 2, offset: 1_000 }).map((t) => t.result)).toEqual([1_000, 1_001]);
  });

  it('stores results so that they read back as they were returned', async () => {
    const ev = eventor(db.store('results'));
    const go = ev.addEvent('go');
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const values: Record<string, unknown> = {
      date: new Date('2026-01-02T03:04:05Z'),
      map: new Map([['a', 1n]]),
      set: new Set([1, 'two']),
      bytes: new Uint8Array([0, 255, 7]),
      nothing: undefined,
      nan: Number.NaN,
      circular,
      no: false,
    };
    const steps = Object.entries(values).map(([name, value]) => ev.addStep(name, { func: () => value }));
    ev.addAssoc(go, steps);
    ev.triggerEvent(go);
    expect((await ev.run()).ok).toBe(true);
    const read = Object.fromEntries(ev.tasks().map((t) => [t.step, t.result]));
    for (const [name, value] of Object.entries(values)) {
      if (name === 'circular') continue;
      expect(read[name], name).toEqual(value);
    }
    const loop = read.circular as Record<string, unknown>;
    expect(loop.self).toBe(loop);
    expect('nothing' in read && read.nothing === undefined).toBe(true);
  });

  it('keeps a pending delay across maxLoops and continue, with its due time (TestClock)', async () => {
    const store = db.store('delay');
    const clock = new TestClock({ start: '2026-01-01T00:00:00Z' });
    const build = (options: EventorOptions) => {
      const ev = eventor(store, { clock, ...options });
      const go = ev.addEvent('go');
      const later = ev.addEvent('later');
      ev.addAssoc(go, ev.addStep('first', { triggers: { success: [later] } }));
      ev.addAssoc(later, ev.addStep('second', { func: () => 'late' }), { delay: '6h' });
      return { ev, go };
    };
    const first = build({});
    first.ev.triggerEvent(first.go);
    expect((await first.ev.run({ maxLoops: 1 })).status).toBe('incomplete');
    expect(first.ev.pending()).toEqual({ count: 1, nextDelayIn: 6 * 3_600_000 });
    const runId = first.ev.runId;
    first.ev.close();
    const again = build({ runMode: 'continue', runId });
    expect(again.ev.triggerEvent(again.go)).toBe(false); // it fired already in this run
    const result = await again.ev.run();
    expect(result).toMatchObject({ ok: true, status: 'success', runId });
    expect(clock.now()).toBe(Date.parse('2026-01-01T06:00:00Z'));
    expect(again.ev.tasks().map((t) => [t.step, t.result])).toEqual([
      ['first', undefined],
      ['second', 'late'],
    ]);
  });

  it('recovers after a failure: skips the successes, reruns the failure and what follows', async () => {
    const store = db.store('recover');
    const failed = recoveryFlow({ store, param: -9, logLevel: 'silent' });
    onTestFinished(() => failed.ev.close());
    const first = await failed.ev.run();
    expect(first).toMatchObject({ ok: false, status: 'failure', recovery: 0 });
    expect(failed.calls).toEqual(['s1', 's2']);
    failed.ev.close();

    const again = recoveryFlow({ store, param: 9, runMode: 'recover', logLevel: 'silent' });
    onTestFinished(() => again.ev.close());
    const result = await again.ev.run();
    expect(result).toMatchObject({ ok: true, status: 'success', runId: first.runId, recovery: 1 });
    expect(again.calls).toEqual(['s2', 's3']);
    expect(again.ev.tasks({ recovery: 1 }).map((t) => [t.step, t.status, t.skipped, t.result])).toEqual([
      ['s1', 'success', true, 9],
      ['s2', 'success', false, 3],
      ['s3', 'success', false, 3],
    ]);
    expect(again.ev.tasks({ recovery: 0, status: 'failure' })[0]?.error?.message).toContain(
      'math domain error: sqrt(-9)',
    );

    // a recover after a fully successful recovery runs nothing and is ok
    again.ev.close();
    const third = recoveryFlow({ store, param: 9, runMode: 'recover', logLevel: 'silent' });
    onTestFinished(() => third.ev.close());
    expect(await third.ev.run()).toMatchObject({ ok: true, recovery: 2 });
    expect(third.calls).toEqual([]);
  });

  it('goes on after the server dropped its idle connections (as a restart or a proxy would)', async () => {
    const store = db.store('dropped');
    const ev = eventor(store);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const go = ev.addEvent('go');
    const next = ev.addEvent('next');
    ev.addAssoc(go, ev.addStep('wait', { func: () => held, triggers: { success: [next] } }));
    ev.addAssoc(next, ev.addStep('after', { func: () => 'after' }));
    ev.triggerEvent(go);
    const running = ev.run();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const dropped = await db.query<{ pid: number }>(
      `SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity
       WHERE application_name = '@flow/eventor' AND datname = current_database()`,
    );
    expect(dropped.length).toBeGreaterThanOrEqual(2); // the synchronous calls' connection, and the loop's
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    expect(await running).toMatchObject({ ok: true, status: 'success' });
    expect(ev.pending()).toEqual({ count: 0, nextDelayIn: null });
    expect(ev.tasks().map((t) => t.result)).toEqual([undefined, 'after']);
  });

  it("says which flows the store has when recover finds no run of the Eventor's name", () => {
    const store = db.store('names');
    const nightly = eventor(store, { name: 'nightly' });
    nightly.triggerEvent(nightly.addEvent('go'));
    const error = (() => {
      try {
        void eventor(store, { name: 'weekly', runMode: 'recover' }).runId;
      } catch (caught) {
        return caught as Error & { code?: string };
      }
      throw new Error('expected a throw');
    })();
    expect(error.code).toBe('FLOW_STORE_NO_RUN');
    expect(error.message).toContain('runs of flow "nightly"');
  });
});

/** A flow that uses every kind of row: outside and body triggers, a delay, a failure and its recovery. */
function everyRowFlow(store: string, options: EventorOptions & { fail: boolean }): Eventor {
  const { fail, ...rest } = options;
  const ev = new Eventor({
    name: 'rows',
    store,
    runId: 'r-rows',
    logLevel: 'silent',
    clock: new TestClock({ start: '2026-03-01T00:00:00Z' }),
    ...rest,
  });
  onTestFinished(() => ev.close());
  const go = ev.addEvent('go');
  const fromBody = ev.addEvent('from_body');
  const done = ev.addEvent('done');
  const later = ev.addEvent('later');
  ev.addAssoc(
    go,
    ev.addStep('a', {
      func: () => {
        ev.triggerEvent(fromBody, 'x');
        return { at: new Date(0) };
      },
      triggers: { success: [done] },
    }),
  );
  ev.addAssoc(fromBody, ev.addStep('b', { func: (s: string) => s, args: ['b'] }));
  ev.addAssoc(done, later, { delay: '1h' });
  ev.addAssoc(
    later,
    ev.addStep('c', {
      func: () => {
        if (fail) throw new Error('c fails');
        return 'c';
      },
    }),
  );
  ev.triggerEvent(go);
  return ev;
}

interface StoreRows {
  runs: unknown[];
  triggers: unknown[];
  tasks: unknown[];
  delays: unknown[];
}

async function sqliteRows(path: string): Promise<StoreRows> {
  const sqlite = new Database(path, { readonly: true });
  try {
    return await rowsOf((text) => sqlite.prepare(text).all() as Record<string, unknown>[]);
  } finally {
    sqlite.close();
  }
}

async function rowsOf(
  query: (text: string) => Record<string, unknown>[] | Promise<Record<string, unknown>[]>,
): Promise<StoreRows> {
  const normal = (rows: Record<string, unknown>[]) =>
    rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([key, value]) => [
          key,
          Buffer.isBuffer(value)
            ? value.toString('hex')
            : typeof value === 'string' && /^\d+$/.test(value)
              ? Number(value)
              : value,
        ]),
      ),
    );
  return {
    runs: normal(
      await query('SELECT id, name, mode, recovery, status, started_at, ended_at, open_from FROM runs'),
    ),
    triggers: normal(
      await query(
        'SELECT recovery, sequence, event, ord, acted, created_at, source_step, source_sequence FROM triggers ORDER BY ord, recovery',
      ),
    ),
    tasks: normal(
      await query(
        'SELECT ord, step, sequence, recovery, status, attempts, result, result_v8, skipped, created_at, updated_at, child FROM tasks ORDER BY ord',
      ),
    ),
    delays: normal(
      await query(
        'SELECT recovery, assoc, sequence, due_at, fired, created_at FROM delays ORDER BY recovery, due_at',
      ),
    ),
  };
}

describe('the rows a PostgreSQL store keeps', () => {
  it('are the rows a file store keeps for the same run and recovery', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flow-rows-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'rows.run.db');
    const store = db.store('rows');
    for (const where of [file, store]) {
      const first = everyRowFlow(where, { fail: true });
      expect(await first.run()).toMatchObject({ ok: false });
      first.close();
      const again = everyRowFlow(where, { fail: false, runMode: 'recover' });
      expect(await again.run()).toMatchObject({ ok: true, recovery: 1 });
      again.close();
    }
    const schema = schemaOf(store);
    const onPostgres = await rowsOf((text) =>
      db.query(text.replace(/FROM (runs|triggers|tasks|delays)/, `FROM ${schema}.$1`)),
    );
    const onFile = await sqliteRows(file);
    expect(onPostgres).toEqual(onFile);
    expect(onFile.tasks.length).toBeGreaterThan(5);
    expect(onFile.delays).toHaveLength(2);
  });
});
