/**
 * The evproc bench's cases, one per process: `tsx bench/cases.ts <name>` builds both the emitter and
 * the processor (so every case's process holds the same), checks that each path calls its 10
 * handlers, warms up one path and prints the median ns per op of BATCHES batches as JSON.
 */
import { EventEmitter } from 'node:events';
import { peakRssMb } from '../../eventor/bench/harness.js';
import { type Event, NamedEvent, Processor, requires, want } from '../src/index.js';

export interface Sample {
  nsPerOp: number;
  peakRssMb: number;
}

const OPS_PER_BATCH = 200_000;
const BATCHES = 5;
const WARMUP_OPS = 200_000;
export const LISTENERS = 10;

let sink = 0;

// Baseline: node:events with 10 listeners on one event.
const emitter = new EventEmitter();
for (let i = 0; i < LISTENERS; i++) {
  emitter.on('target', (_payload: unknown) => {
    sink++;
  });
}
const payload = { host: 'web-1' };

// 100 handlers: 10 want 'target' (chained and fanned with requires edges), 90 want other names.
const proc = new Processor();
const targetNames = Array.from({ length: LISTENERS }, (_, i) => `t${i}`);
for (let i = LISTENERS - 1; i >= 0; i--) {
  // Registered in reverse so the sort has real work: t(i) requires t(i-1), and t(i) for odd i also t0.
  let fn = (_p: Processor, _ev: Event) => {
    sink++;
  };
  if (i > 0) fn = requires(targetNames[i - 1]!)(fn);
  if (i > 1 && i % 2 === 1) fn = requires('t0')(fn);
  proc.register(want('target')(fn), targetNames[i]);
}
for (let i = 0; i < 90; i++) {
  let fn = (_p: Processor, _ev: Event) => {
    sink++;
  };
  if (i % 10 > 0) fn = requires(`o${i - 1}`)(fn);
  proc.register(want(`other${Math.floor(i / 10)}`, 'elsewhere')(fn), `o${i}`);
}
const event = new NamedEvent('target', payload);

// Sanity: each path runs the 10 handlers once.
sink = 0;
emitter.emit('target', payload);
proc.processSync(event);
await proc.process(event);
if (sink !== 3 * LISTENERS)
  throw new Error(`evproc bench: expected ${3 * LISTENERS} handler calls, got ${sink}`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function timeSync(op: () => void): number {
  for (let i = 0; i < WARMUP_OPS; i++) op();
  const perOp: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS_PER_BATCH; i++) op();
    perOp.push(Number(process.hrtime.bigint() - start) / OPS_PER_BATCH);
  }
  return median(perOp);
}

async function timeAsync(op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP_OPS; i++) await op();
  const perOp: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS_PER_BATCH; i++) await op();
    perOp.push(Number(process.hrtime.bigint() - start) / OPS_PER_BATCH);
  }
  return median(perOp);
}

const CASES: Record<string, () => number | Promise<number>> = {
  emit: () => timeSync(() => emitter.emit('target', payload)),
  processSync: () => timeSync(() => proc.processSync(event)),
  process: () => timeAsync(() => proc.process(event)),
};

if (process.argv[2] && process.argv[1]?.endsWith('cases.ts')) {
  const name = process.argv[2];
  const run = CASES[name];
  if (!run) throw new Error(`unknown evproc bench case '${name}'; known: ${Object.keys(CASES).join(', ')}`);
  const nsPerOp = await run();
  if (sink < 0) console.log(sink); // keep the work observable
  const sample: Sample = { nsPerOp, peakRssMb: peakRssMb() };
  console.log(JSON.stringify(sample));
}
