/**
 * The PostgreSQL bench's cases, one per process: `tsx bench/postgres.ts <name>` runs one on the
 * server FLOW_BENCH_POSTGRES_CASE_URL names (an environment variable, so that a password stays out
 * of the process list), in a Postgres schema of its own (dropped after), and prints its sample as
 * JSON. bench/postgres-run.ts runs each in a fresh process, next to a run of the raw baseline.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Eventor, type EventRef } from '../src/index.js';
import { peakRssMb } from './harness.js';
import type { ScenarioResult } from './scenarios.js';

const rssMb = () => process.memoryUsage().rss / (1024 * 1024);

function result(name: string, ops: number, ms: number, rssBeforeMb: number): ScenarioResult {
  return { name, ops, ms, perSecond: (ops / ms) * 1000, peakRssMb: peakRssMb(), rssBeforeMb };
}

/** A fresh schema on the server; `drop` removes it. */
async function freshSchema(url: string): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  return {
    schema,
    drop: async () => {
      const client = new pg.Client(url);
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}

/** The baseline: one connection, one insert + one update per transaction, each commit durable. */
export async function rawCommits(url: string, count = 5_000): Promise<ScenarioResult> {
  const { schema, drop } = await freshSchema(url);
  const client = new pg.Client(url);
  await client.connect();
  await client.query(`CREATE SCHEMA "${schema}"`);
  await client.query(`SET search_path = "${schema}"`);
  await client.query('CREATE TABLE t (id serial PRIMARY KEY, status text NOT NULL, n int NOT NULL)');
  const commit = async (i: number) => {
    await client.query('BEGIN');
    const row = await client.query({
      name: 'ins',
      text: 'INSERT INTO t (status, n) VALUES ($1, $2) RETURNING id',
      values: ['ready', i],
    });
    await client.query({
      name: 'upd',
      text: 'UPDATE t SET status = $1, n = n + 1 WHERE id = $2',
      values: ['done', row.rows[0].id],
    });
    await client.query('COMMIT');
  };
  for (let i = 0; i < 500; i++) await commit(i); // warm-up
  const before = rssMb();
  const start = performance.now();
  for (let i = 0; i < count; i++) await commit(i);
  const ms = performance.now() - start;
  const sample = result('raw pg commits (baseline)', count, ms, before);
  await client.end();
  await drop();
  return sample;
}

const noop = () => {};

/** A chain: each no-op step's success fires the next step's event. */
export async function chain(url: string, count: number, warmUp = true): Promise<ScenarioResult> {
  if (warmUp) await chain(url, 200, false);
  const { schema, drop } = await freshSchema(url);
  const ev = new Eventor({ name: 'bench-chain', store: { url, schema }, logLevel: 'warn' });
  const events: EventRef[] = [];
  for (let i = 0; i <= count; i++) events.push(ev.addEvent(`e${i}`));
  for (let i = 0; i < count; i++) {
    const step = ev.addStep(`s${i}`, { func: noop, triggers: { success: [events[i + 1] as EventRef] } });
    ev.addAssoc(events[i] as EventRef, step);
  }
  ev.triggerEvent(events[0] as EventRef, 1);
  const before = rssMb();
  const start = performance.now();
  const outcome = await ev.run();
  const ms = performance.now() - start;
  ev.close();
  await drop();
  if (!outcome.ok) throw new Error(`PostgreSQL chain bench: the run ended ${outcome.status}`);
  return result(`chain: ${count.toLocaleString('en-US')} steps, each fires the next`, count, ms, before);
}

/** One event to `count` no-op inline steps. */
export async function fanOut(url: string, count: number, warmUp = true): Promise<ScenarioResult> {
  if (warmUp) await fanOut(url, 2_000, false);
  const { schema, drop } = await freshSchema(url);
  const ev = new Eventor({ name: 'bench-fanout', store: { url, schema }, logLevel: 'warn' });
  const go = ev.addEvent('go');
  const steps = [];
  for (let i = 0; i < count; i++) steps.push(ev.addStep(`s${i}`, { func: noop }));
  ev.addAssoc(go, steps);
  ev.triggerEvent(go, 1);
  const before = rssMb();
  const start = performance.now();
  const outcome = await ev.run();
  const ms = performance.now() - start;
  ev.close();
  await drop();
  if (!outcome.ok) throw new Error(`PostgreSQL fan-out bench: the run ended ${outcome.status}`);
  return result(`fan-out: 1 event -> ${count.toLocaleString('en-US')} no-op steps`, count, ms, before);
}

/** The server's settings that decide what a commit costs, as `name=value`. */
export async function serverSettings(url: string): Promise<string> {
  const names = [
    'server_version',
    'synchronous_commit',
    'fsync',
    'wal_sync_method',
    'full_page_writes',
    'shared_buffers',
    'wal_level',
  ];
  const client = new pg.Client(url);
  await client.connect();
  const rows = await client.query('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)', [
    names,
  ]);
  await client.end();
  return names
    .map((name) => {
      const row = rows.rows.find((r) => r.name === name);
      if (!row) return undefined;
      return `${name}=${row.setting}${row.unit ? ` (${row.unit})` : ''}`;
    })
    .filter((setting) => setting !== undefined)
    .join(', ');
}

export const POSTGRES_SCENARIOS: Record<string, (url: string) => Promise<ScenarioResult>> = {
  raw: (url) => rawCommits(url),
  chain: (url) => chain(url, 1_000),
  fanout: (url) => fanOut(url, 10_000),
};

// Run one case in this process and print its result as JSON (the driver isolates each one).
if (process.argv[2] && process.argv[1]?.endsWith('postgres.ts')) {
  const scenario = POSTGRES_SCENARIOS[process.argv[2]];
  const url = process.env.FLOW_BENCH_POSTGRES_CASE_URL;
  if (!scenario || !url)
    throw new Error(
      `usage: FLOW_BENCH_POSTGRES_CASE_URL=postgres://… tsx bench/postgres.ts <${Object.keys(POSTGRES_SCENARIOS).join('|')}>`,
    );
  console.log(JSON.stringify(await scenario(url)));
}
