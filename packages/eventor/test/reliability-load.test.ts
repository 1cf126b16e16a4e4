// Load: 100 steps x many sequences in one run, as a fan-out and as 100-step chains. Memory must not
// grow with the number of finished tasks, and pending() / tasks() paging must not slow down as the
// store fills. CI runs 20,000 tasks per scenario; FLOW_LOAD_FULL=1 runs the 100,000 of issue 7.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentStep, Eventor, type EventRef } from '../src/index.js';
import { MemoryLogger } from './helpers/sandbox.js';

const FULL = process.env.FLOW_LOAD_FULL === '1';
const STEPS = 100;
const SEQUENCES = FULL ? 1_000 : 200;
const BATCHES = 10;
const PER_BATCH = SEQUENCES / BATCHES;
const TASKS = STEPS * SEQUENCES;
const PAGE = 100;

/**
 * A full collection before each heap sample. `--expose-gc` cannot be passed to vitest's workers, but
 * V8 still honours the flag when set at run time; a fresh context then exposes `gc`.
 */
const collect: (() => void) | undefined = (() => {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

async function heapUsed(): Promise<number> {
  if (collect) {
    // the lowest of a few collections across turns of the event loop: on a loaded machine one
    // sample can catch what a turn still holds (a settling promise, code compiled in the
    // background) and read as growth that the next turn gives back
    let lowest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      collect();
      collect();
      lowest = Math.min(lowest, process.memoryUsage().heapUsed);
    }
    return lowest;
  }
  // no gc: the lowest of a few samples taken across turns of the event loop
  let lowest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    lowest = Math.min(lowest, process.memoryUsage().heapUsed);
  }
  return lowest;
}

/** Median wall time of `fn` in ms over `times` calls, after one unmeasured call. */
function medianMs(fn: () => unknown, times = 21): number {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)] as number;
}

interface Figures {
  heapMb: number[];
  batchMs: number[];
  pendingMs: { start: number; end: number };
  pageMs: { startFirst: number; startLast: number; endFirst: number; endLast: number };
  /** SQLite's own cost of the last page in the table's key order (OFFSET without a sort), same file. */
  rawLastPageMs: number;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 100) / 100;
const ms = (value: number) => Math.round(value * 1000) / 1000;

/**
 * Runs `BATCHES` equal batches of sequences through one Eventor (one run: run() goes on with the
 * same run each time), sampling the heap after each batch and timing reads at the start and the end.
 */
async function runBatches(ev: Eventor, store: string, start: EventRef, label: string): Promise<Figures> {
  const heap: number[] = [await heapUsed()];
  const batchMs: number[] = [];
  const figures = { pendingMs: { start: 0, end: 0 }, pageMs: { startFirst: 0, startLast: 0 } } as Figures;
  for (let batch = 0; batch < BATCHES; batch++) {
    const began = performance.now();
    for (let i = 0; i < PER_BATCH; i++) ev.triggerEvent(start, batch * PER_BATCH + i);
    const result = await ev.run();
    batchMs.push(performance.now() - began);
    expect(result).toMatchObject({ ok: true, status: 'success' });
    heap.push(await heapUsed());
    if (batch === 0) {
      figures.pendingMs.start = medianMs(() => ev.pending());
      figures.pageMs.startFirst = medianMs(() => ev.tasks({ limit: PAGE, offset: 0 }));
      figures.pageMs.startLast = medianMs(() => ev.tasks({ limit: PAGE, offset: STEPS * PER_BATCH - PAGE }));
    }
  }
  figures.pendingMs.end = medianMs(() => ev.pending());
  figures.pageMs.endFirst = medianMs(() => ev.tasks({ limit: PAGE, offset: 0 }));
  figures.pageMs.endLast = medianMs(() => ev.tasks({ limit: PAGE, offset: TASKS - PAGE }));
  const raw = new Database(store, { readonly: true, fileMustExist: true });
  try {
    const page = raw.prepare('SELECT * FROM tasks WHERE run_id = ? LIMIT ? OFFSET ?');
    figures.rawLastPageMs = medianMs(() => page.all(ev.runId, PAGE, TASKS - PAGE));
  } finally {
    raw.close();
  }
  figures.heapMb = heap.map(mb);
  figures.batchMs = batchMs.map(Math.round);
  console.info(
    `[load] ${label}: ${TASKS} tasks in ${BATCHES} batches${collect ? '' : ' (no gc: heap sampled without it)'}\n` +
      `  heap MB before and after each batch: ${figures.heapMb.join(' ')}\n` +
      `  batch ms: ${figures.batchMs.join(' ')}\n` +
      `  pending() ms: ${ms(figures.pendingMs.start)} after batch 1, ${ms(figures.pendingMs.end)} at the end\n` +
      `  tasks({ limit: ${PAGE} }) ms after batch 1: first page ${ms(figures.pageMs.startFirst)}, last ${ms(figures.pageMs.startLast)}; ` +
      `at the end: first ${ms(figures.pageMs.endFirst)}, last ${ms(figures.pageMs.endLast)} ` +
      `(raw SQLite OFFSET to the last page: ${ms(figures.rawLastPageMs)})`,
  );
  return figures;
}

/** Memory: later batches may not keep what their finished tasks used. */
function expectFlatHeap(figures: Figures): void {
  const heap = figures.heapMb;
  const first = (heap[1] as number) - (heap[0] as number);
  // from the end of batch 2 on, the code is warm and the statements are prepared
  const later = (heap[BATCHES] as number) - (heap[2] as number);
  const laterTasks = (BATCHES - 2) * PER_BATCH * STEPS;
  const bytesPerTask = (later * 2 ** 20) / laterTasks;
  // a finished task kept in memory costs far more than 32 bytes (its state object alone is ~200)
  const limit = collect ? 32 : 256;
  expect(
    bytesPerTask,
    `heap grew ${later.toFixed(2)} MB over ${laterTasks} finished tasks (first batch: ${first.toFixed(2)} MB)`,
  ).toBeLessThan(limit);
  expect(later, 'growth over 8 later batches vs the first batch').toBeLessThan(Math.max(first, 1) * 2);
}

/** pending() does not scan finished tasks: it costs the same with 10 times as many. */
function expectFastPending(figures: Figures): void {
  const { pendingMs } = figures;
  expect(
    pendingMs.end,
    `pending() took ${ms(pendingMs.start)} ms with ${TASKS / BATCHES} finished tasks and ${ms(pendingMs.end)} ms with ${TASKS}`,
  ).toBeLessThan(pendingMs.start * 3 + 0.5);
}

/**
 * Paging: a page read does not sort the run. The first page costs the same in a store 10 times
 * larger; the last page costs about what SQLite itself takes to step over `offset` rows (OFFSET is
 * linear in SQLite, so "as fast as the first page" would need a keyset cursor the API does not have).
 */
function expectFastPaging(figures: Figures): void {
  const { pageMs, rawLastPageMs } = figures;
  expect(
    pageMs.endFirst,
    `the first page took ${ms(pageMs.startFirst)} ms with ${TASKS / BATCHES} tasks and ${ms(pageMs.endFirst)} ms with ${TASKS}`,
  ).toBeLessThan(pageMs.startFirst * 3 + 1);
  expect(
    pageMs.endLast,
    `in a store of ${TASKS} tasks the last page took ${ms(pageMs.endLast)} ms (the first ${ms(pageMs.endFirst)} ms); ` +
      `SQLite steps over as many rows in ${ms(rawLastPageMs)} ms`,
  ).toBeLessThan(rawLastPageMs * 3 + 1);
}

/** Batches do not slow down as the store fills (loose: the machine may be loaded). */
function expectSteadyBatches(figures: Figures): void {
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[1] as number;
  const early = median(figures.batchMs.slice(1, 4));
  const late = median(figures.batchMs.slice(-3));
  expect(late, `batch ms: ${figures.batchMs.join(' ')}`).toBeLessThan(early * 3 + 200);
}

/** The store after the run: every task once, all succeeded, and the file is sound. */
function expectStore(store: string): void {
  const db = new Database(store, { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const row = db
      .prepare(
        `SELECT count(*) AS tasks, count(DISTINCT step || char(31) || sequence) AS distinctTasks,
                sum(status = 'success') AS succeeded, sum(attempts) AS attempts FROM tasks`,
      )
      .get() as { tasks: number; distinctTasks: number; succeeded: number; attempts: number };
    expect(row).toEqual({ tasks: TASKS, distinctTasks: TASKS, succeeded: TASKS, attempts: TASKS });
    const unacted = db.prepare('SELECT count(*) FROM triggers WHERE acted = 0').pluck().get();
    expect(unacted).toBe(0);
  } finally {
    db.close();
  }
}

/** How often each (step, sequence) ran; a typed array, so counting takes no heap per task. */
class CallCounter {
  readonly counts = new Uint8Array(TASKS);
  outOfOrder = 0;
  /** The last chain step that ran in each sequence, to check a chain's order. */
  private readonly reached = new Int16Array(SEQUENCES).fill(-1);

  record(step: number, chained = false): void {
    const sequence = Number(currentStep().sequence);
    const index = sequence * STEPS + step;
    this.counts[index] = (this.counts[index] as number) + 1;
    if (!chained) return;
    if (this.reached[sequence] !== step - 1) this.outOfOrder += 1;
    this.reached[sequence] = step;
  }

  firstWrong(): string | undefined {
    const wrong = this.counts.findIndex((count) => count !== 1);
    if (wrong < 0) return undefined;
    return `step ${wrong % STEPS} in sequence ${Math.floor(wrong / STEPS)} ran ${this.counts[wrong]} times`;
  }
}

interface Scenario {
  name: string;
  /** Defines the flow on `ev`; returns the event that starts a sequence. */
  define(ev: Eventor, calls: CallCounter): EventRef;
}

const SCENARIOS: Scenario[] = [
  {
    name: `fan-out: one event to ${STEPS} steps in each of ${SEQUENCES} sequences`,
    define(ev, calls) {
      const go = ev.addEvent('go');
      const steps = [];
      for (let i = 0; i < STEPS; i++) steps.push(ev.addStep(`s${i}`, { func: () => calls.record(i) }));
      ev.addAssoc(go, steps);
      return go;
    },
  },
  {
    name: `chains: ${SEQUENCES} sequences of a ${STEPS}-step chain`,
    define(ev, calls) {
      const events: EventRef[] = [];
      for (let i = 0; i <= STEPS; i++) events.push(ev.addEvent(`e${i}`));
      for (let i = 0; i < STEPS; i++) {
        const step = ev.addStep(`c${i}`, {
          func: () => calls.record(i, true),
          triggers: { success: events[i + 1] as EventRef },
        });
        ev.addAssoc(events[i] as EventRef, step);
      }
      return events[0] as EventRef;
    },
  },
];

for (const { name, define } of SCENARIOS) {
  describe(`load: ${TASKS} tasks in one run${FULL ? '' : ' (CI size; FLOW_LOAD_FULL=1 runs 100,000)'}: ${name}`, () => {
    let dir: string;
    let store: string;
    let logger: MemoryLogger;
    let calls: CallCounter;
    let figures: Figures;
    let endState: { pending: unknown; lastPage: string[] };

    beforeAll(
      async () => {
        dir = mkdtempSync(join(tmpdir(), 'flow-load-'));
        store = join(dir, 'flow.run.db');
        logger = new MemoryLogger();
        calls = new CallCounter();
        const ev = new Eventor({ name: 'load', store, logger });
        try {
          const start = define(ev, calls);
          figures = await runBatches(ev, store, start, name.split(':')[0] as string);
          endState = {
            pending: ev.pending(),
            lastPage: ev.tasks({ limit: PAGE, offset: TASKS - PAGE }).map((task) => task.status),
          };
        } finally {
          ev.close();
        }
      },
      FULL ? 600_000 : 120_000,
    );

    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('runs every task exactly once, in order, and leaves a sound store with nothing pending', () => {
      expect(calls.firstWrong()).toBeUndefined();
      expect(calls.outOfOrder).toBe(0);
      expect(logger.records).toEqual([]);
      expect(endState).toEqual({
        pending: { count: 0, nextDelayIn: null },
        lastPage: Array(PAGE).fill('success'),
      });
      expectStore(store);
    });

    it('keeps no memory per finished task: the heap stays flat across later batches', () => {
      expectFlatHeap(figures);
    });

    it('does not slow down as the store fills', () => {
      expectSteadyBatches(figures);
    });

    it('answers pending() as fast at the end of the run as after its first batch', () => {
      expectFastPending(figures);
    });

    it('pages through tasks({ limit, offset }) without sorting the whole run', () => {
      expectFastPaging(figures);
    });
  });
}
