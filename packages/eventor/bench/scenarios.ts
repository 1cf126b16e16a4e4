/**
 * The eventor bench's cases, one per process: `tsx bench/scenarios.ts <name>` runs one and prints its
 * sample as JSON (bench/run.ts runs each in a fresh process, so its peak RSS is its own).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Eventor, type EventRef } from '../src/index.js';
import { peakRssMb } from './harness.js';

export interface ScenarioResult {
  name: string;
  ops: number;
  ms: number;
  perSecond: number;
  /** Peak RSS of the process up to the end of the timed part. */
  peakRssMb: number;
  /** RSS just before the timed part: the flow defined, nothing run. */
  rssBeforeMb: number;
}

/** A chain's first run and a recover of it once it succeeded (every task skipped), timed apart. */
export interface RecoveryResult extends ScenarioResult {
  firstMs: number;
  recoverMs: number;
}

function tempStore(label: string): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `flow-bench-${label}-`));
  return { path: join(dir, 'bench.run.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const rssMb = () => process.memoryUsage().rss / (1024 * 1024);

function result(name: string, ops: number, ms: number, rssBeforeMb: number): ScenarioResult {
  return { name, ops, ms, perSecond: (ops / ms) * 1000, peakRssMb: peakRssMb(), rssBeforeMb };
}

/** The baseline: raw durable commits, one insert + one update per transaction, WAL, synchronous=NORMAL. */
export function rawCommits(count = 20_000): ScenarioResult {
  const store = tempStore('raw');
  const db = new Database(store.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, status TEXT NOT NULL, n INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO t (status, n) VALUES (?, ?)');
  const update = db.prepare('UPDATE t SET status = ?, n = n + 1 WHERE id = ?');
  const commit = db.transaction((i: number) => {
    const row = insert.run('ready', i);
    update.run('done', row.lastInsertRowid);
  });
  for (let i = 0; i < 1000; i++) commit(i); // warm-up
  const before = rssMb();
  const start = performance.now();
  for (let i = 0; i < count; i++) commit(i);
  const ms = performance.now() - start;
  const sample = result('raw better-sqlite3 commits (baseline)', count, ms, before);
  db.close();
  store.cleanup();
  return sample;
}

const noop = () => {};

/** One event to `count` no-op inline steps. */
export async function fanOut(count: number, warmUp = true): Promise<ScenarioResult> {
  if (warmUp) await fanOut(2_000, false); // the baseline is warmed up too: compare steady states

  const store = tempStore('fanout');
  const ev = new Eventor({ name: 'bench-fanout', store: store.path });
  const go = ev.addEvent('go');
  const steps = [];
  for (let i = 0; i < count; i++) steps.push(ev.addStep(`s${i}`, { func: noop }));
  ev.addAssoc(go, steps);
  ev.triggerEvent(go, 1);
  const before = rssMb();
  const start = performance.now();
  const outcome = await ev.run();
  const ms = performance.now() - start;
  if (!outcome.ok) throw new Error(`fan-out bench: the run ended ${outcome.status}`);
  const sample = result(
    `fan-out: 1 event -> ${count.toLocaleString('en-US')} no-op steps`,
    count,
    ms,
    before,
  );
  ev.close();
  store.cleanup();
  return sample;
}

/** `count` no-op steps, each one's success firing the next one's event. */
function buildChain(store: string, count: number, runMode: 'restart' | 'recover' = 'restart'): Eventor {
  const ev = new Eventor({ name: 'bench-chain', store, runMode });
  const events: EventRef[] = [];
  for (let i = 0; i <= count; i++) events.push(ev.addEvent(`e${i}`));
  for (let i = 0; i < count; i++) {
    const step = ev.addStep(`s${i}`, { func: noop, triggers: { success: [events[i + 1] as EventRef] } });
    ev.addAssoc(events[i] as EventRef, step);
  }
  ev.triggerEvent(events[0] as EventRef, 1);
  return ev;
}

/** A chain: each step's success fires the next step's event. */
export async function chain(count: number, warmUp = true): Promise<ScenarioResult> {
  if (warmUp) await chain(500, false);

  const store = tempStore('chain');
  const ev = buildChain(store.path, count);
  const before = rssMb();
  const start = performance.now();
  const outcome = await ev.run();
  const ms = performance.now() - start;
  if (!outcome.ok) throw new Error(`chain bench: the run ended ${outcome.status}`);
  const sample = result(
    `chain: ${count.toLocaleString('en-US')} steps, each fires the next`,
    count,
    ms,
    before,
  );
  ev.close();
  store.cleanup();
  return sample;
}

/** Recovery must cost about what the first run cost: a chain that succeeded, recovered. */
export async function recoverChain(count: number): Promise<RecoveryResult> {
  const store = tempStore('recover');
  const first = buildChain(store.path, count);
  let start = performance.now();
  const ran = await first.run();
  const firstMs = performance.now() - start;
  first.close();
  const again = buildChain(store.path, count, 'recover');
  const before = rssMb();
  start = performance.now();
  const recovered = await again.run();
  const recoverMs = performance.now() - start;
  const skipped = again.tasks({ recovery: 1 }).filter((task) => task.skipped).length;
  again.close();
  store.cleanup();
  if (!ran.ok || !recovered.ok || skipped !== count) {
    throw new Error(
      `recover bench: first run ${ran.status}, recover ${recovered.status}, ${skipped} skipped`,
    );
  }
  const name = `recover a ${count.toLocaleString('en-US')}-step chain that succeeded`;
  return { ...result(name, count, recoverMs, before), firstMs, recoverMs };
}

/** Steps of the long chain whose peak RSS is compared with a 1,000-step chain's, both cold. */
export const LONG_CHAIN = 10_000;
export const RECOVER_CHAIN = 20_000;

export const SCENARIOS: Record<string, () => ScenarioResult | Promise<ScenarioResult>> = {
  raw: () => rawCommits(),
  chain: () => chain(1_000),
  fanout: () => fanOut(10_000),
  fanout50k: () => fanOut(50_000),
  // no warm-up: for the RSS check, what a run adds to its defined flow and nothing a warm-up left
  chainCold: () => chain(1_000, false),
  chainLongCold: () => chain(LONG_CHAIN, false),
  recoverChain: () => recoverChain(RECOVER_CHAIN),
};

// Run one scenario in this process and print its result as JSON (the driver isolates each one).
if (process.argv[2] && process.argv[1]?.endsWith('scenarios.ts')) {
  const scenario = SCENARIOS[process.argv[2]];
  if (!scenario)
    throw new Error(
      `unknown bench scenario '${process.argv[2]}'; known: ${Object.keys(SCENARIOS).join(', ')}`,
    );
  console.log(JSON.stringify(await scenario()));
}
