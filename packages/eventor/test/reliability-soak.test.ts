// Soak: a flow with delays, a shared pool, retries, a worker step and a command step, driven by
// `continue` passes (`run({ maxLoops: 1 })` on a new Eventor each time, same store file) every few
// hundred milliseconds. Nothing may be lost (every step once, delayed steps only after their due time)
// and nothing may leak (handles, pool listeners, signal listeners, threads, file descriptors, heap).
// CI runs a short form; FLOW_SOAK_MS sets the length (scripts/soak.mjs runs it for minutes).
import { readdirSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { currentStep, Eventor, ResourcePool } from '../src/index.js';
import { sandbox, sleep } from './helpers/sandbox.js';

const SOAK_MS = Number(process.env.FLOW_SOAK_MS ?? 12_000);
const INTERVAL_MS = Number(process.env.FLOW_SOAK_INTERVAL_MS ?? 200);
const STORE_DELAY_MS = 300;
const AUDIT_DELAY_MS = 1_000;
/** New sequences stop this long before the end, so the last ones can drain through their delays. */
const QUIET_MS = 2 * AUDIT_DELAY_MS;
const DRAIN_LIMIT_MS = 15_000;
const STEPS_MODULE = new URL('./fixtures-hostile/steps.mjs', import.meta.url);

const collect: (() => void) | undefined = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

interface Sample {
  pass: number;
  fds: number;
  threads: number;
  handles: Record<string, number>;
  heapMb: number;
}

function sample(pass: number): Sample {
  collect?.();
  const handles: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1;
  const status = readFileSync('/proc/self/status', 'utf8');
  return {
    pass,
    fds: readdirSync('/proc/self/fd').length,
    threads: Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN),
    handles,
    heapMb: Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 100) / 100,
  };
}

/** A pool whose release-listener registrations are counted through its own onRelease. */
function countedPool(): { pool: ResourcePool; live: () => number } {
  const pool = new ResourcePool('db', { limit: 2 });
  let live = 0;
  const register = pool.onRelease.bind(pool);
  pool.onRelease = (listener) => {
    live += 1;
    const unregister = register(listener);
    let done = false;
    return () => {
      if (!done) live -= 1;
      done = true;
      return unregister();
    };
  };
  return { pool, live: () => live };
}

/**
 * What the inline steps did, kept per sequence only until the sequence is checked, so a long soak
 * holds no more test data at the end than at the start (the heap trend is then the engine's).
 */
class Ledger {
  /** Sequences whose inline steps all ran, each checked and then forgotten. */
  finished = 0;
  readonly problems: string[] = [];
  private readonly open = new Map<string, { fetchEnd?: number; store?: number; audits: number[] }>();

  /** Wraps an inline step: records its start (and for fetch its end) under its sequence. */
  step(step: 'fetch' | 'store' | 'audit', work: (attempt: number) => Promise<void>) {
    return async () => {
      const { sequence, attempt } = currentStep();
      const entry = this.open.get(sequence) ?? { audits: [] };
      this.open.set(sequence, entry);
      const start = Date.now();
      if (step === 'fetch' && entry.fetchEnd !== undefined) this.problems.push(`fetch ${sequence} ran twice`);
      if (step === 'store') {
        if (entry.store !== undefined) this.problems.push(`store ${sequence} ran twice`);
        entry.store = start;
      }
      if (step === 'audit') entry.audits.push(start);
      await work(attempt);
      if (step === 'fetch') entry.fetchEnd = Date.now();
      if (entry.store !== undefined && entry.audits.length === 2) this.close(sequence, entry);
    };
  }

  /** Sequences that started but whose inline steps did not all run. */
  get unfinished(): string[] {
    return [...this.open.keys()];
  }

  private close(sequence: string, entry: { fetchEnd?: number; store?: number; audits: number[] }): void {
    this.open.delete(sequence);
    this.finished += 1;
    const { fetchEnd, store, audits } = entry;
    if (fetchEnd === undefined)
      return void this.problems.push(`${sequence}: store/audit ran before fetch ended`);
    if ((store as number) - fetchEnd < STORE_DELAY_MS)
      this.problems.push(`${sequence}: store started ${(store as number) - fetchEnd} ms after fetch ended`);
    if ((audits[0] as number) - fetchEnd < AUDIT_DELAY_MS)
      this.problems.push(
        `${sequence}: audit started ${(audits[0] as number) - fetchEnd} ms after fetch ended`,
      );
  }
}

/** Keeps warnings as a count and errors as records: a log kept whole would grow the heap. */
class CountingLogger {
  warnings = 0;
  readonly errors: unknown[] = [];
  debug(): void {}
  info(): void {}
  warn(): void {
    this.warnings += 1;
  }
  error(obj: unknown, msg?: string): void {
    this.errors.push({ obj, msg });
  }
}

/**
 * go -> fetch (pool) -> fetched; fetched -> store (pool) after 300 ms, and -> audit after 1 s (fails
 * its first attempt, retried); stored AND audited -> report (worker thread) and notify (command).
 */
function defineFlow(ev: Eventor, pool: ResourcePool, ledger: Ledger) {
  // reachable from this pass's step functions only: if the engine kept them, it stays alive
  const marker = {};
  const tag = <T extends object>(func: T): T => Object.assign(func, { marker });
  const go = ev.addEvent('go');
  const fetched = ev.addEvent('fetched');
  const stored = ev.addEvent('stored');
  const audited = ev.addEvent('audited');
  const done = ev.addEvent('done', { expr: [stored, audited] });
  const fetch = ev.addStep('fetch', {
    func: tag(ledger.step('fetch', () => sleep(5 + Math.floor(Math.random() * 20)))),
    acquires: [[pool, 1]],
    triggers: { success: fetched },
  });
  const store = ev.addStep('store', {
    func: tag(ledger.step('store', () => sleep(5))),
    acquires: [[pool, 1]],
    triggers: { success: stored },
  });
  const audit = ev.addStep('audit', {
    func: tag(
      ledger.step('audit', async (attempt) => {
        if (attempt === 1) throw new Error('audit service busy');
      }),
    ),
    triggers: { success: audited },
    config: { retries: 1, backoff: 20 },
  });
  const report = ev.addStep('report', {
    module: STEPS_MODULE,
    export: 'soakReport',
    config: { taskConstruct: 'worker' },
  });
  const notify = ev.addStep('notify', { command: ['true'] });
  ev.addAssoc(go, fetch);
  ev.addAssoc(fetched, store, { delay: STORE_DELAY_MS });
  ev.addAssoc(fetched, audit, { delay: AUDIT_DELAY_MS });
  ev.addAssoc(done, [report, notify]);
  return { go, marker };
}

describe(`soak: continue passes every ${INTERVAL_MS} ms for ${SOAK_MS / 1000} s`, () => {
  it('loses nothing and leaks nothing', { timeout: SOAK_MS + DRAIN_LIMIT_MS + 60_000 }, async () => {
    const box = sandbox('soak');
    const { pool, live } = countedPool();
    const ledger = new Ledger();
    const logger = new CountingLogger();
    const signalListeners = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
    const signalsBefore = signalListeners();
    const before = sample(-1);
    const samples: Sample[] = [];
    const problems = ledger.problems;
    /** Every pass's Eventor and step functions, which nothing may keep once the pass is closed. */
    const gone: Array<{ pass: number; eventor: WeakRef<Eventor>; steps: WeakRef<object> }> = [];
    let triggered = 0;
    let runId: string | undefined;
    let pass = 0;
    let drained = false;
    const began = Date.now();

    while (Date.now() - began < SOAK_MS + DRAIN_LIMIT_MS) {
      const triggering = Date.now() - began < SOAK_MS - QUIET_MS;
      const ev = new Eventor({
        name: 'soak',
        store: box.store,
        runMode: pass === 0 ? 'restart' : 'continue',
        logger,
        handleSignals: true,
      });
      let pending: number;
      try {
        const { go, marker } = defineFlow(ev, pool, ledger);
        if (collect) gone.push({ pass, eventor: new WeakRef(ev), steps: new WeakRef(marker) });
        for (let i = 0; triggering && i < 1 + (pass % 2); i++) {
          triggered += 1;
          if (!ev.triggerEvent(go, `${pass}.${i}`))
            problems.push(`pass ${pass}: ${pass}.${i} had already fired`);
        }
        const result = await ev.run({ maxLoops: 1 });
        runId ??= result.runId;
        if (!result.ok || result.runId !== runId || result.recovery !== 0)
          problems.push(`pass ${pass}: ${JSON.stringify(result)}`);
        pending = ev.pending().count;
      } finally {
        ev.close();
      }
      if (pool.used !== 0) problems.push(`pass ${pass}: the pool still has ${pool.used} in use after close`);
      if (live() !== 0)
        problems.push(`pass ${pass}: ${live()} pool listener(s) still registered after close`);
      if (signalListeners() !== signalsBefore)
        problems.push(`pass ${pass}: ${signalListeners() - signalsBefore} extra signal listener(s)`);
      samples.push(sample(pass));
      pass += 1;
      if (!triggering && pending === 0) {
        drained = true;
        break;
      }
      await sleep(INTERVAL_MS);
    }
    await sleep(500); // let the last exits and closes be delivered
    const after = sample(pass);
    // the last pass's objects may still sit in this function's stack frame, so it is left out
    const kept = gone
      .slice(0, -1)
      .filter((ref) => ref.eventor.deref() !== undefined || ref.steps.deref() !== undefined);
    report(before, samples, after, Date.now() - began, triggered);

    // nothing lost: the run drained, and every step ran once per sequence (audit: once, then its retry)
    expect(problems).toEqual([]);
    expect(drained, 'the run still had work pending when the drain time ran out').toBe(true);
    expect(logger.errors).toEqual([]);
    expect(logger.warnings, 'one warning per audit retry').toBe(triggered);
    expect(ledger.unfinished).toEqual([]);
    expect(ledger.finished).toBe(triggered);
    expectStore(box.store, pass, triggered);

    // nothing leaked: no handle or listener outlives the passes; fds, threads and heap do not grow
    const extra = Object.entries(after.handles).filter(
      ([kind, count]) => count > (before.handles[kind] ?? 0),
    );
    expect(extra, `active handles before the soak ${JSON.stringify(before.handles)}, after it`).toEqual([]);
    // the heap grows while V8 warms up (compiled code counts too), so the trend is read over the
    // second half of the soak: a leak of an Eventor or a run's state per pass would show there
    const settled = samples[Math.floor(samples.length / 2)] as Sample;
    const firstHalf = samples.slice(0, Math.ceil(samples.length / 2));
    expect(after.fds, 'open file descriptors').toBeLessThanOrEqual(Math.max(...firstHalf.map((s) => s.fds)));
    expect(after.threads, 'threads (the worker pool included)').toBeLessThanOrEqual(
      Math.max(...firstHalf.map((s) => s.threads)),
    );
    if (collect) {
      expect(
        kept.map((ref) => ref.pass),
        'passes whose Eventor or step functions are still reachable after close (and a full gc)',
      ).toEqual([]);
    }
    if (collect)
      expect(
        after.heapMb - settled.heapMb,
        `heap growth (MB) from pass ${settled.pass} to the end`,
      ).toBeLessThan(0.5 + (pass - settled.pass) * 0.001);
  });
});

/** Every sequence has each step once, succeeded, with its attempts; delays fired when due; file sound. */
function expectStore(store: string, passes: number, triggered: number): void {
  const db = new Database(store, { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const wrong = db
      .prepare(
        `SELECT sequence, group_concat(step || ':' || status || ':' || attempts || ':' || recovery, ' ') AS steps
         FROM (SELECT * FROM tasks ORDER BY step) GROUP BY sequence HAVING steps != ?`,
      )
      .all('audit:success:2:0 fetch:success:1:0 notify:success:1:0 report:success:1:0 store:success:1:0');
    expect(wrong).toEqual([]);
    const sequences = db.prepare('SELECT DISTINCT sequence FROM tasks').pluck().all() as string[];
    expect(sequences).toHaveLength(triggered);
    expect(sequences.filter((s) => !/^\d+\.[01]$/.test(s) || Number(s.split('.')[0]) >= passes)).toEqual([]);
    expect(db.prepare('SELECT count(*) FROM triggers WHERE acted = 0').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM delays').pluck().get()).toBe(triggered * 2);
    // a delayed task is created only once its delay is due: each sequence has two delays, store's
    // (the earlier due time) and audit's (the later one); every delay fired
    expect(db.prepare('SELECT count(*) FROM delays WHERE fired = 0').pluck().get()).toBe(0);
    const withDelays = db
      .prepare('SELECT count(*) FROM tasks WHERE sequence IN (SELECT sequence FROM delays)')
      .pluck()
      .get();
    expect(withDelays).toBe(triggered * 5);
    const early = db
      .prepare(
        `SELECT t.step, t.sequence, t.created_at AS createdAt, d.firstDue, d.lastDue FROM tasks t
         JOIN (SELECT sequence, min(due_at) AS firstDue, max(due_at) AS lastDue, count(*) AS n
               FROM delays GROUP BY sequence) d ON d.sequence = t.sequence
         WHERE d.n != 2 OR d.lastDue - d.firstDue < ${AUDIT_DELAY_MS - STORE_DELAY_MS}
            OR (t.step = 'store' AND t.created_at < d.firstDue) OR (t.step = 'audit' AND t.created_at < d.lastDue)`,
      )
      .all();
    expect(early).toEqual([]);
  } finally {
    db.close();
  }
}

function report(before: Sample, samples: Sample[], after: Sample, ms: number, triggered: number): void {
  // a long soak prints every tenth sample
  const step = Math.max(1, Math.floor(samples.length / 40));
  const shown = samples.filter((_, i) => i % step === 0);
  const row = (key: 'fds' | 'threads' | 'heapMb') =>
    `${before[key]} | ${shown.map((s) => s[key]).join(' ')} | ${after[key]}`;
  console.info(
    `[soak] ${samples.length} passes in ${(ms / 1000).toFixed(1)} s, ${triggered} sequences ` +
      `(before | after every ${step === 1 ? '' : `${step}th `}pass | at the end)\n` +
      `  fds ${row('fds')}\n  threads ${row('threads')}\n  heap MB ${row('heapMb')}\n` +
      `  handles before: ${JSON.stringify(before.handles)}; after: ${JSON.stringify(after.handles)}`,
  );
}
