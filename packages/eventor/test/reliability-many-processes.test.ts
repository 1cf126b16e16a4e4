// Many processes on one store at once, each driving a run of its own (a file shared on one host, or
// one PostgreSQL database): every run ends right, none waits on another forever, and whatever goes
// wrong comes out as a typed error, never as the database driver's own.
import { describe, expect, it } from 'vitest';
import { type ChildMessage, FlowChild } from './helpers/child.js';
import { storeSql } from './helpers/raw-store.js';
import { sandbox } from './helpers/sandbox.js';

const PROCESSES = 8;
const LENGTH = 150;

describe('eight processes, each driving its own run, on one store at once', () => {
  it('runs every chain to success, each step once, with no error at all', async () => {
    const box = sandbox('processes');
    const children = Array.from(
      { length: PROCESSES },
      (_, i) => new FlowChild(['chain', box.store, `run-${i}`, String(LENGTH)]),
    );
    // every process has opened the store and built its flow: they start their runs together
    await Promise.all(children.map((child) => child.next('ready', 20_000)));
    for (const child of children) child.send({ type: 'go' });
    const done: ChildMessage[] = await Promise.all(children.map((child) => child.next('done', 60_000)));

    expect(done.map((message) => message.error ?? null)).toEqual(children.map(() => null));
    done.forEach((message, i) => {
      expect(message.result).toMatchObject({ ok: true, status: 'success', runId: `run-${i}` });
      expect(message.tasks).toBe(LENGTH);
    });
    for (const child of children) expect((await child.exited).code).toBe(0);
    expect(children.map((child) => child.errors)).toEqual(children.map(() => ''));

    const runs = await storeSql<{ id: string; status: string; lease_pid: number | null }>(
      box.store,
      'SELECT id, status, lease_pid FROM runs ORDER BY id',
    );
    expect(runs).toEqual(children.map((_, i) => ({ id: `run-${i}`, status: 'success', lease_pid: null })));
    const tasks = await storeSql<{ run_id: string; n: number; once: number }>(
      box.store,
      `SELECT run_id, count(*) AS n, sum(CASE WHEN status = 'success' AND attempts = 1 THEN 1 ELSE 0 END) AS once
       FROM tasks GROUP BY run_id ORDER BY run_id`,
    );
    expect(tasks).toEqual(children.map((_, i) => ({ run_id: `run-${i}`, n: LENGTH, once: LENGTH })));
  }, 90_000);
});
