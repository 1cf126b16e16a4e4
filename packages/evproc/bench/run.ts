// Benchmark: one event through 10 handlers, against node:events emit to 10 listeners.
// Run with `pnpm --filter @flow/evproc bench`. Not part of the tests.
import { EventEmitter } from 'node:events';
import { type Event, NamedEvent, Processor, requires, want } from '../src/index.js';

const ROUNDS = 9;
const OPS_PER_ROUND = 200_000;
const WARMUP_OPS = 200_000;

let sink = 0;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Median nanoseconds per op over ROUNDS rounds, after a warm-up. */
function timeSync(op: () => void): number {
  for (let i = 0; i < WARMUP_OPS; i++) op();
  const perOp: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS_PER_ROUND; i++) op();
    perOp.push(Number(process.hrtime.bigint() - start) / OPS_PER_ROUND);
  }
  return median(perOp);
}

async function timeAsync(op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < WARMUP_OPS; i++) await op();
  const perOp: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS_PER_ROUND; i++) await op();
    perOp.push(Number(process.hrtime.bigint() - start) / OPS_PER_ROUND);
  }
  return median(perOp);
}

// Baseline: node:events with 10 listeners on one event.
const emitter = new EventEmitter();
for (let i = 0; i < 10; i++) {
  emitter.on('target', (_payload: unknown) => {
    sink++;
  });
}
const payload = { host: 'web-1' };

// 100 handlers: 10 want 'target' (chained and fanned with requires edges), 90 want other names.
const proc = new Processor();
const targetNames = Array.from({ length: 10 }, (_, i) => `t${i}`);
for (let i = 9; i >= 0; i--) {
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
if (sink !== 30) throw new Error(`expected 30 handler calls, got ${sink}`);

const emitNs = timeSync(() => {
  emitter.emit('target', payload);
});
const syncNs = timeSync(() => {
  proc.processSync(event);
});
const asyncNs = await timeAsync(() => proc.process(event));

const rows = [
  { case: 'node:events emit, 10 listeners (baseline)', ns: emitNs },
  { case: 'processSync, 10 of 100 handlers by name', ns: syncNs },
  { case: 'process (async path, all sync handlers)', ns: asyncNs },
];
console.log(
  `median of ${ROUNDS} rounds x ${OPS_PER_ROUND} ops, after ${WARMUP_OPS} warm-up ops; node ${process.version}`,
);
console.table(
  rows.map((r) => ({
    case: r.case,
    'ops/s': Math.round(1e9 / r.ns).toLocaleString('en-US'),
    'ns/op': r.ns.toFixed(1),
    'time vs baseline': `${(r.ns / emitNs).toFixed(2)}x`,
  })),
);
const ratio = syncNs / emitNs;
console.log(
  `processSync / emit time ratio: ${ratio.toFixed(2)}x (target <= 0.7x): ${ratio <= 0.7 ? 'met' : 'NOT met'}; ` +
    `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
);
if (sink < 0) console.log(sink); // keep the work observable
