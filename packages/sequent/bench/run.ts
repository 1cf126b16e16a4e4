import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Eventor, type StepRef } from '@flow/eventor';
import { Sequent, type SequentStep, StepStatus } from '../src/index.js';

/**
 * `pnpm --filter @flow/sequent bench`: a three-level Sequent flow (10 x 10 iterations of 10 no-op
 * leaves = 1,000 leaf executions) against the eventor baseline measured in this same run, on the
 * same kind of store file: 1,000 no-op steps as a chain, and as a fan-out from one event.
 * Target: sequent's cost per leaf <= 2x eventor's cost per step.
 */
const ROUNDS = Number(process.env.FLOW_BENCH_ROUNDS ?? 7);
const OUTER = 10;
const MIDDLE = 10;
const LEAVES = 10;
const TOTAL = OUTER * MIDDLE * LEAVES;
const noop = () => undefined;

interface Sample {
  ms: number;
  units: number;
}

function tempStore(label: string): { store: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `flow-sequent-bench-${label}-`));
  return { store: join(dir, 'bench.run.db'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** outer x10 > middle x10 > 10 leaves, chained (each requires the one before) or all together. */
async function sequentFlow(shape: 'chain' | 'fanout'): Promise<Sample> {
  const { store, done } = tempStore('sequent');
  const flow = new Sequent({ name: 'bench', store });
  const outer = flow.addStep('outer', { repeats: Array.from({ length: OUTER }, (_, i) => i) });
  const middle = outer.addStep('middle', { repeats: Array.from({ length: MIDDLE }, (_, i) => i) });
  let previous: SequentStep | undefined;
  for (let i = 0; i < LEAVES; i++) {
    const requires = shape === 'chain' && previous ? [[previous, StepStatus.success] as const] : [];
    previous = middle.addStep(`leaf${i}`, { func: noop, requires });
  }
  const start = performance.now();
  const result = await flow.run();
  const ms = performance.now() - start;
  const units = flow.tasks({ status: 'success' }).length;
  flow.close();
  done();
  if (!result.ok || units !== TOTAL) throw new Error(`sequent ${shape}: ${result.status}, ${units} leaves`);
  return { ms, units };
}

/** 1,000 no-op eventor steps: each triggering the next (chain), or all on one event (fanout). */
async function eventorFlow(shape: 'chain' | 'fanout'): Promise<Sample> {
  const { store, done } = tempStore('eventor');
  const ev = new Eventor({ name: 'bench', store });
  const go = ev.addEvent('go');
  if (shape === 'chain') {
    let on = go;
    for (let i = 0; i < TOTAL; i++) {
      const next = ev.addEvent(`after${i}`);
      ev.addAssoc(on, ev.addStep(`step${i}`, { func: noop, triggers: { success: [next] } }));
      on = next;
    }
  } else {
    const steps: StepRef[] = [];
    for (let i = 0; i < TOTAL; i++) steps.push(ev.addStep(`step${i}`, { func: noop }));
    ev.addAssoc(go, steps);
  }
  ev.triggerEvent(go, 1);
  const start = performance.now();
  const result = await ev.run();
  const ms = performance.now() - start;
  const units = ev.tasks({ status: 'success' }).length;
  ev.close();
  done();
  if (!result.ok || units !== TOTAL) throw new Error(`eventor ${shape}: ${result.status}, ${units} steps`);
  return { ms, units };
}

function median(samples: Sample[]): Sample {
  const sorted = [...samples].sort((a, b) => a.ms - b.ms);
  return sorted[Math.floor(sorted.length / 2)] as Sample;
}

const scenarios = {
  'eventor chain (1,000 steps)': () => eventorFlow('chain'),
  'eventor fan-out (1,000 steps)': () => eventorFlow('fanout'),
  'sequent 10x10x10, leaves chained': () => sequentFlow('chain'),
  'sequent 10x10x10, leaves together': () => sequentFlow('fanout'),
} as const;
type Name = keyof typeof scenarios;

/** A container of `iterations` iterations of one no-op leaf: run once, then recovered once it succeeded. */
async function recoverIterations(iterations: number): Promise<{ firstMs: number; recoverMs: number }> {
  const { store, done } = tempStore('recover');
  const build = (runMode: 'restart' | 'recover') => {
    const flow = new Sequent({ name: 'bench-recover', store, runMode });
    const loop = flow.addStep('loop', { repeats: Array.from({ length: iterations }, (_, i) => i) });
    loop.addStep('leaf', { func: noop });
    return flow;
  };
  const first = build('restart');
  let start = performance.now();
  const ran = await first.run();
  const firstMs = performance.now() - start;
  first.close();
  const again = build('recover');
  start = performance.now();
  const recovered = await again.run();
  const recoverMs = performance.now() - start;
  const skipped = again.tasks({ recovery: 1 }).filter((task) => task.skipped).length;
  again.close();
  done();
  if (!ran.ok || !recovered.ok || skipped !== iterations) {
    throw new Error(`sequent recover bench: ${ran.status}/${recovered.status}, ${skipped} leaves skipped`);
  }
  return { firstMs, recoverMs };
}

const samples = new Map<Name, Sample[]>();
for (const run of Object.values(scenarios)) await run(); // warm-up: JIT, SQLite, file system
for (let round = 0; round < ROUNDS; round++) {
  // interleaved, so drift in machine load hits every scenario alike
  for (const [name, run] of Object.entries(scenarios) as Array<[Name, () => Promise<Sample>]>) {
    const list = samples.get(name) ?? [];
    list.push(await run());
    samples.set(name, list);
  }
}

const result = (name: Name) => median(samples.get(name) as Sample[]);
const perUnit = (sample: Sample) => (sample.ms * 1000) / sample.units;
/** Median over rounds of (cost per unit / the baseline's in the same round): drift in load cancels. */
const pairedRatio = (name: Name, baseline: Name) => {
  const mine = samples.get(name) as Sample[];
  const base = samples.get(baseline) as Sample[];
  const ratios = mine.map((sample, i) => perUnit(sample) / perUnit(base[i] as Sample)).sort((a, b) => a - b);
  return ratios[Math.floor(ratios.length / 2)] as number;
};

const pad = (text: string, width: number) => text.padEnd(width);
console.log(
  `\n@flow/sequent bench (median of ${ROUNDS}; node ${process.version}; ${new Date().toISOString()})\n`,
);
console.log(
  `${pad('scenario', 36)}${pad('total ms', 10)}${pad('µs/unit', 9)}${pad('units/s', 10)}` +
    `${pad('x chain', 9)}${pad('x fan-out', 11)}target (x chain)`,
);
for (const name of Object.keys(scenarios) as Name[]) {
  const sample = result(name);
  const toChain = pairedRatio(name, 'eventor chain (1,000 steps)');
  const toFanout = pairedRatio(name, 'eventor fan-out (1,000 steps)');
  const verdict = name.startsWith('sequent') ? `<= 2x ${toChain <= 2 ? 'ok' : 'MISSED'}` : '';
  console.log(
    `${pad(name, 36)}${pad(sample.ms.toFixed(0), 10)}${pad(perUnit(sample).toFixed(1), 9)}` +
      `${pad(Math.round((sample.units * 1000) / sample.ms).toLocaleString('en-US'), 10)}` +
      `${pad(toChain.toFixed(2), 9)}${pad(toFanout.toFixed(2), 11)}${verdict}`,
  );
}
console.log(
  "\nunits: leaf executions (sequent), steps (eventor). x chain / x fan-out: cost per unit over eventor's\n" +
    'cost per step in a chain / in a fan-out from one event, paired by round (median of the ratios).\n' +
    'Sequent runs 100 iterations one after another, so a fan-out cannot span them: its baseline is the chain.',
);

// Recovery must cost about what the first run did: a recover of a run that succeeded skips every leaf.
const ITERATIONS = 10_000;
const recovery = await recoverIterations(ITERATIONS);
const recoveryRatio = recovery.recoverMs / recovery.firstMs;
console.log(
  `\n${pad('recovery (ratio to its first run, same process)', 52)}${pad('first run', 12)}${pad('recover', 12)}` +
    `${pad('x first run', 13)}target`,
);
console.log(
  `${pad(`recover a ${ITERATIONS.toLocaleString('en-US')}-iteration sequent flow`, 52)}` +
    `${pad(`${recovery.firstMs.toFixed(0)} ms`, 12)}${pad(`${recovery.recoverMs.toFixed(0)} ms`, 12)}` +
    `${pad(`${recoveryRatio.toFixed(2)}x`, 13)}<= 1.5x ${recoveryRatio <= 1.5 ? 'ok' : 'MISSED'}`,
);
