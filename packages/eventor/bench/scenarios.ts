import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Eventor, type EventRef } from '../src/index.js';

export interface ScenarioResult {
  name: string;
  ops: number;
  ms: number;
  perSecond: number;
  peakRssMb: number;
}

function tempStore(label: string): { path: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `flow-bench-${label}-`));
  return { path: join(dir, 'bench.run.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function result(name: string, ops: number, ms: number): ScenarioResult {
  return { name, ops, ms, perSecond: (ops / ms) * 1000, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

/** (a) The baseline: raw durable commits, one insert + one update per transaction, WAL, synchronous=NORMAL. */
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
  const start = performance.now();
  for (let i = 0; i < count; i++) commit(i);
  const ms = performance.now() - start;
  db.close();
  store.cleanup();
  return result('raw SQLite commits (baseline)', count, ms);
}

const noop = () => {};

/** (b) One event to `count` no-op inline steps. */
export async function fanOut(count = 10_000, warmUp = true): Promise<ScenarioResult> {
  if (warmUp) await fanOut(2_000, false); // the baseline is warmed up too: compare steady states

  const store = tempStore('fanout');
  const ev = new Eventor({ name: 'bench-fanout', store: store.path });
  const go = ev.addEvent('go');
  const steps = [];
  for (let i = 0; i < count; i++) steps.push(ev.addStep(`s${i}`, { func: noop }));
  ev.addAssoc(go, steps);
  ev.triggerEvent(go, 1);
  const start = performance.now();
  const outcome = await ev.run();
  const ms = performance.now() - start;
  if (!outcome.ok) throw new Error('fan-out bench failed');
  ev.close();
  store.cleanup();
  return result(`fan-out: 1 event -> ${count} inline steps`, count, ms);
}

/** (c) A chain: each step's success fires the next step's event. */
export async function chain(count = 1_000, warmUp = true): Promise<ScenarioResult> {
  if (warmUp) await chain(500, false);

  const store = tempStore('chain');
  const ev = new Eventor({ name: 'bench-chain', store: store.path });
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
  if (!outcome.ok) throw new Error('chain bench failed');
  ev.close();
  store.cleanup();
  return result(`chain: ${count} steps, each fires the next`, count, ms);
}

/** A chain's first run and a recover of it once it succeeded (every task skipped), timed apart. */
export interface RecoveryResult extends ScenarioResult {
  firstMs: number;
  recoverMs: number;
}

function buildChain(store: string, count: number, runMode: 'restart' | 'recover'): Eventor {
  const ev = new Eventor({ name: 'bench-recover', store, runMode });
  const events: EventRef[] = [];
  for (let i = 0; i <= count; i++) events.push(ev.addEvent(`e${i}`));
  for (let i = 0; i < count; i++) {
    const step = ev.addStep(`s${i}`, { func: noop, triggers: { success: [events[i + 1] as EventRef] } });
    ev.addAssoc(events[i] as EventRef, step);
  }
  ev.triggerEvent(events[0] as EventRef, 1);
  return ev;
}

/** (d) Recovery must cost about what the first run cost: a chain that succeeded, recovered. */
export async function recoverChain(count = 20_000): Promise<RecoveryResult> {
  const store = tempStore('recover');
  const first = buildChain(store.path, count, 'restart');
  let start = performance.now();
  const ran = await first.run();
  const firstMs = performance.now() - start;
  first.close();
  const again = buildChain(store.path, count, 'recover');
  start = performance.now();
  const recovered = await again.run();
  const recoverMs = performance.now() - start;
  const skipped = again.tasks({ recovery: 1 }).filter((task) => task.skipped).length;
  again.close();
  store.cleanup();
  if (!ran.ok || !recovered.ok || skipped !== count)
    throw new Error(`recover bench failed: ${skipped} skipped`);
  return { ...result(`recover a ${count}-step chain that succeeded`, count, recoverMs), firstMs, recoverMs };
}

export const SCENARIOS: Record<string, () => ScenarioResult | Promise<ScenarioResult>> = {
  raw: () => rawCommits(),
  fanout: () => fanOut(10_000),
  fanout50k: () => fanOut(50_000),
  chain: () => chain(1_000),
  recoverChain: () => recoverChain(20_000),
};

// Run one scenario in this process and print its result as JSON (the driver isolates each one).
if (process.argv[2] && process.argv[1]?.endsWith('scenarios.ts')) {
  const scenario = SCENARIOS[process.argv[2]];
  if (!scenario) throw new Error(`unknown scenario ${process.argv[2]}`);
  console.log(JSON.stringify(await scenario()));
}
