/**
 * The sequent bench's cases, one per process: `tsx bench/cases.ts <name>` runs one and prints its
 * sample as JSON. Both sides of the pairing are in this one file, so the eventor chain and the sequent
 * flow run in processes of the same kind, each through its package's public API, each warmed up by
 * one untimed run of the same flow on a store of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Eventor } from '@flow/eventor';
import { peakRssMb } from '../../eventor/bench/harness.js';
import { Sequent, type SequentStep } from '../src/index.js';

export interface Sample {
  /** Leaves (sequent) or steps (eventor) that succeeded in the timed run. */
  units: number;
  ms: number;
  peakRssMb: number;
}

export interface RecoverySample extends Sample {
  firstMs: number;
  recoverMs: number;
}

/** 10 x 10 x 10 nested repeats, one no-op leaf per innermost iteration: 1,000 leaves. */
export const LEVELS = [10, 10, 10] as const;
export const LEAVES = LEVELS.reduce((a, b) => a * b, 1);
const RECOVER_ITERATIONS = 10_000;
const noop = () => undefined;
const repeats = (count: number) => Array.from({ length: count }, (_, i) => i);

function tempStore(label: string): { store: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `flow-sequent-bench-${label}-`));
  return { store: join(dir, 'bench.run.db'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

async function timed(flow: Sequent | Eventor, label: string, expected: number): Promise<Sample> {
  const start = performance.now();
  const result = await flow.run();
  const ms = performance.now() - start;
  const units = flow.tasks({ status: 'success' }).length;
  if (!result.ok || units !== expected) {
    throw new Error(`${label} bench: the run ended ${result.status} with ${units} of ${expected} succeeded`);
  }
  return { units, ms, peakRssMb: peakRssMb() };
}

async function sequentNested(): Promise<Sample> {
  const { store, done } = tempStore('nested');
  const flow = new Sequent({ name: 'bench-nested', store });
  let parent: Sequent | SequentStep = flow;
  LEVELS.forEach((count, depth) => {
    parent = parent.addStep(`level${depth}`, { repeats: repeats(count) });
  });
  parent.addStep('leaf', { func: noop });
  const sample = await timed(flow, 'sequent nested', LEAVES);
  flow.close();
  done();
  return sample;
}

async function eventorChain(): Promise<Sample> {
  const { store, done } = tempStore('chain');
  const ev = new Eventor({ name: 'bench-chain', store });
  let on = ev.addEvent('go');
  ev.triggerEvent(on, 1);
  for (let i = 0; i < LEAVES; i++) {
    const next = ev.addEvent(`after${i}`);
    ev.addAssoc(on, ev.addStep(`step${i}`, { func: noop, triggers: { success: [next] } }));
    on = next;
  }
  const sample = await timed(ev, 'eventor chain', LEAVES);
  ev.close();
  done();
  return sample;
}

/** A container of 10,000 iterations of one no-op leaf: run once, then recovered once it succeeded. */
async function sequentRecover(): Promise<RecoverySample> {
  const { store, done } = tempStore('recover');
  const build = (runMode: 'restart' | 'recover') => {
    const flow = new Sequent({ name: 'bench-recover', store, runMode });
    flow.addStep('loop', { repeats: repeats(RECOVER_ITERATIONS) }).addStep('leaf', { func: noop });
    return flow;
  };
  const first = build('restart');
  const ran = await timed(first, 'sequent recover (first run)', RECOVER_ITERATIONS);
  first.close();
  const again = build('recover');
  const start = performance.now();
  const recovered = await again.run();
  const recoverMs = performance.now() - start;
  const skipped = again.tasks({ recovery: 1 }).filter((task) => task.skipped).length;
  again.close();
  done();
  if (!recovered.ok || skipped !== RECOVER_ITERATIONS) {
    throw new Error(
      `sequent recover bench: the recover ended ${recovered.status}, ${skipped} leaves skipped`,
    );
  }
  return { ...ran, units: RECOVER_ITERATIONS, firstMs: ran.ms, recoverMs, peakRssMb: peakRssMb() };
}

const CASES: Record<string, () => Promise<Sample>> = {
  sequentNested,
  eventorChain,
  sequentRecover,
};

if (process.argv[2] && process.argv[1]?.endsWith('cases.ts')) {
  const name = process.argv[2];
  const run = CASES[name];
  if (!run) throw new Error(`unknown sequent bench case '${name}'; known: ${Object.keys(CASES).join(', ')}`);
  if (name !== 'sequentRecover') await run(); // warm-up: JIT, SQLite, file system
  console.log(JSON.stringify(await run()));
}
