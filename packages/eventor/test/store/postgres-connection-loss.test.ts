// A PostgreSQL server that goes away in the middle of a run (SEMANTICS, "PostgreSQL stores and
// workers"): a lost connection is tried again with backoff for up to leaseTtl; what was committed is
// kept, and the run goes on, or ends with a StoreError and is recovered once the server is back.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Eventor, type EventorOptions, type EventRef, StoreError } from '../../src/index.js';
import { type CuttingProxy, startCuttingProxy } from '../helpers/cutting-proxy.js';
import { type PostgresServer, startPostgres } from '../helpers/postgres-server.js';
import { storeSql } from '../helpers/raw-store.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A chain of `length` steps, each sleeping `ms`: c0 -> c1 -> ... Every call is recorded in `calls`;
 * `onCall(i)` is called as step i starts.
 */
function chain(
  store: string,
  options: EventorOptions & { length: number; ms: number; calls: number[]; onCall?: (i: number) => void },
): Eventor {
  const { length, ms, calls, onCall, ...rest } = options;
  const ev = new Eventor({ name: 'outage', store, logLevel: 'silent', ...rest });
  onTestFinished(() => ev.close());
  const events = Array.from({ length: length + 1 }, (_, i) => ev.addEvent(`e${i}`));
  for (let i = 0; i < length; i++) {
    const step = ev.addStep(`c${i}`, {
      func: async (n: number) => {
        calls.push(n);
        onCall?.(n);
        await sleep(ms);
        return n;
      },
      args: [i],
      triggers: { success: [events[i + 1] as EventRef] },
    });
    ev.addAssoc(events[i] as EventRef, step);
  }
  ev.triggerEvent(events[0] as EventRef);
  return ev;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// a server of this file's own: stopping the test run's one would stop every other file's tests
let server: PostgresServer;
let proxy: CuttingProxy;
beforeAll(async () => {
  server = await startPostgres();
  const url = new URL(server.url);
  proxy = await startCuttingProxy({ host: url.hostname, port: Number(url.port) });
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await server?.stop();
});

describe('a PostgreSQL server stopped and started again in the middle of a run', () => {
  const storeOf = (schema: string) => `${server.url}?schema=${schema}`;

  it('goes on when the server is back within leaseTtl: every step runs once, the run ends success', async () => {
    const store = storeOf('restart_short');
    const calls: number[] = [];
    let outage: Promise<void> | undefined;
    const ev = chain(store, {
      length: 30,
      ms: 20,
      calls,
      leaseTtl: '10s',
      // the server stops while c10 runs: c10's end and what follows wait for it to come back
      onCall: (i) => {
        if (i === 10) outage = server.halt().then(() => sleep(1_500).then(() => server.resume()));
      },
    });
    const result = await ev.run();
    await outage;
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 0 });
    expect(calls).toEqual(range(30));
    expect(ev.tasks().map((t) => [t.step, t.status, t.attempts])).toEqual(
      range(30).map((i) => [`c${i}`, 'success', 1]),
    );
    expect(await storeSql(store, 'SELECT status, lease_pid FROM runs')).toEqual([
      { status: 'success', lease_pid: null },
    ]);
  });

  it('ends with a StoreError when the server stays away longer than leaseTtl; recovered once it is back, nothing committed is lost', async () => {
    const store = storeOf('restart_long');
    const calls: number[] = [];
    let halted: Promise<void> | undefined;
    const ev = chain(store, {
      length: 20,
      ms: 20,
      calls,
      leaseTtl: '1s',
      onCall: (i) => {
        if (i === 8) halted = server.halt();
      },
    });
    const started = Date.now();
    const error = await ev.run().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    await halted;
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).code).toBe('FLOW_STORE_FAILED');
    expect((error as Error).message).toMatch(/connection to the server was lost/);
    expect((error as Error).message).toMatch(/did not come back within 1s \(leaseTtl\)/);
    expect((error as Error).message).toMatch(/recover or continue the run/);
    // it kept trying for leaseTtl, then gave up
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(calls).toEqual(range(9));
    ev.close();

    await server.resume();
    const recoveredCalls: number[] = [];
    const again = chain(store, { length: 20, ms: 0, calls: recoveredCalls, runMode: 'recover' });
    expect(await again.run()).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    const tasks = again.tasks({ recovery: 1 });
    const skipped = tasks.filter((t) => t.skipped).map((t) => t.step);
    // c0..c7 had committed their successes before the server went away: kept, and skipped now
    expect(skipped).toEqual(range(8).map((i) => `c${i}`));
    expect(recoveredCalls).toEqual(range(20).slice(8));
    expect(tasks.every((t) => t.status === 'success')).toBe(true);
  });
});

describe('a commit whose answer was lost', () => {
  it('is sent again and applied once: the commit ran, its answer never came, the run goes on', async () => {
    const store = `${proxy.via(server.url)}?schema=lost_answer`;
    const calls: number[] = [];
    let cut: Promise<void> | undefined;
    const ev = chain(store, {
      length: 12,
      ms: 5,
      calls,
      // the commit of c5's end (c5 success, c6's task and trigger) reaches the server and commits;
      // its connection breaks before the answer comes back
      onCall: (i) => {
        if (i === 5) cut = proxy.cutAfterAnswer('flow_commit');
      },
    });
    const result = await ev.run();
    await cut;
    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(calls).toEqual(range(12));
    const rows = await storeSql<{ step: string; status: string; attempts: number }>(
      store,
      'SELECT step, status, attempts FROM tasks ORDER BY ord',
    );
    expect(rows).toEqual(range(12).map((i) => ({ step: `c${i}`, status: 'success', attempts: 1 })));
    const triggers = await storeSql<{ n: number }>(store, 'SELECT count(*) AS n FROM triggers');
    expect(triggers).toEqual([{ n: 13 }]);
  });
});
