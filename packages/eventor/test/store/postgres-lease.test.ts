import { hostname } from 'node:os';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Eventor, type EventorOptions, StoreError } from '../../src/index.js';
import { FlowChild } from '../helpers/child.js';
import { schemaOf, testDatabase } from '../helpers/postgres.js';
import { deferred, sleep } from '../helpers/sandbox.js';

const db = testDatabase('lease');

interface LeaseRow {
  lease_pid: number | null;
  lease_host: string | null;
  lease_token: string | null;
  lease_expires_at: string | null;
}

async function lease(store: string, runId: string): Promise<LeaseRow> {
  const [row] = await db.query<LeaseRow>(
    `SELECT lease_pid, lease_host, lease_token, lease_expires_at FROM ${schemaOf(store)}.runs WHERE id = $1`,
    [runId],
  );
  return row as LeaseRow;
}

/** The flow of the `hold` child (fixtures-core/flows.mjs): one step, which waits for `hold` to resolve. */
function holdFlow(store: string, options: EventorOptions & { hold?: () => Promise<void> } = {}): Eventor {
  const { hold, ...rest } = options;
  const ev = new Eventor({ name: 'hold', store, logLevel: 'silent', ...rest });
  onTestFinished(() => ev.close());
  const go = ev.addEvent('go');
  ev.addAssoc(
    go,
    ev.addStep('hold', {
      func: async () => {
        if (hold) await hold();
        return 'held';
      },
    }),
  );
  ev.triggerEvent(go, 1);
  return ev;
}

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('the lease of a run on a PostgreSQL store', () => {
  it('refuses a second Eventor on a run another process drives, naming the holder; it takes the run once that one is done', async () => {
    const store = db.store('two');
    const child = new FlowChild(['hold', store, 'r-two']);
    await child.next('holding');
    const held = await lease(store, 'r-two');
    expect(held).toMatchObject({ lease_pid: child.pid, lease_host: hostname() });

    const error = thrown(() => void holdFlow(store, { runId: 'r-two', runMode: 'continue' }).runId);
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('FLOW_STORE_IN_USE');
    expect(error.message).toContain(`pid ${child.pid} on ${hostname()}`);

    child.send({ type: 'release' });
    expect((await child.next('done')).result).toMatchObject({ ok: true, status: 'success' });
    const after = holdFlow(store, { runId: 'r-two', runMode: 'recover' });
    expect(await after.run()).toMatchObject({ ok: true, recovery: 1 });
  });

  it('refuses a second Eventor of the same process while the first drives the run', async () => {
    const store = db.store('same');
    const gate = deferred();
    const first = holdFlow(store, { runId: 'r-same', hold: () => gate.promise });
    const running = first.run();
    await sleep(100);
    const error = thrown(() => void holdFlow(store, { runId: 'r-same', runMode: 'continue' }).runId);
    expect(error.code).toBe('FLOW_STORE_IN_USE');
    gate.resolve();
    expect((await running).ok).toBe(true);
  });

  it('lets a run whose holder was killed on this host be recovered at once, before its lease would lapse', async () => {
    const store = db.store('killed');
    const child = new FlowChild(['hold', store, 'r-killed']);
    await child.next('holding');
    await child.kill();
    const row = await lease(store, 'r-killed');
    expect(Number(row.lease_expires_at)).toBeGreaterThan(Date.now()); // still "valid" by the clock
    const ev = holdFlow(store, { runId: 'r-killed', runMode: 'recover' });
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success', recovery: 1 });
  });

  it('takes a lease held on another host only once it lapsed (its holder silent for leaseTtl)', async () => {
    const store = db.store('host');
    const first = holdFlow(store, { runId: 'r-host' });
    void first.runId;
    first.close();
    const table = `${schemaOf(store)}.runs`;
    await db.query(
      `UPDATE ${table} SET lease_pid = 4242, lease_host = 'far-away.example', lease_token = 'theirs', lease_expires_at = $1`,
      [Date.now() + 60_000],
    );
    const error = thrown(() => void holdFlow(store, { runId: 'r-host', runMode: 'continue' }).runId);
    expect(error.code).toBe('FLOW_STORE_IN_USE');
    expect(error.message).toContain('pid 4242 on far-away.example');

    await db.query(`UPDATE ${table} SET lease_expires_at = $1`, [Date.now() - 1]);
    const ev = holdFlow(store, { runId: 'r-host', runMode: 'continue' });
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
  });

  it('renews the lease while the run goes on, past leaseTtl', async () => {
    const store = db.store('renew');
    const gate = deferred();
    const ev = holdFlow(store, { runId: 'r-renew', leaseTtl: '300ms', hold: () => gate.promise });
    const running = ev.run();
    await sleep(50);
    const before = Number((await lease(store, 'r-renew')).lease_expires_at);
    await sleep(700);
    const after = await lease(store, 'r-renew');
    expect(Number(after.lease_expires_at)).toBeGreaterThan(before + 300);
    expect(Number(after.lease_expires_at)).toBeGreaterThan(Date.now());
    gate.resolve();
    expect((await running).ok).toBe(true);
  });

  it('ends a run whose lease was taken over mid-run with FLOW_LEASE_LOST, writing nothing more', async () => {
    const store = db.store('stolen');
    const gate = deferred();
    const ev = holdFlow(store, { runId: 'r-stolen', hold: () => gate.promise });
    const running = ev.run();
    running.catch(() => {});
    await sleep(100);
    const table = schemaOf(store);
    // another process took the run over while this one was silent
    await db.query(
      `UPDATE ${table}.runs SET lease_pid = 4242, lease_host = 'far-away.example', lease_token = 'thief' WHERE id = 'r-stolen'`,
    );
    gate.resolve();
    const error = await running.then(
      () => undefined,
      (caught: unknown) => caught as Error & { code?: string },
    );
    expect(error).toBeInstanceOf(StoreError);
    expect(error?.code).toBe('FLOW_LEASE_LOST');
    expect(error?.message).toContain('was taken over by another process');
    const tasks = await db.query<{ step: string; status: string }>(`SELECT step, status FROM ${table}.tasks`);
    expect(tasks).toEqual([{ step: 'hold', status: 'active' }]);
    expect(await lease(store, 'r-stolen')).toMatchObject({ lease_token: 'thief', lease_pid: 4242 });
  });
});
