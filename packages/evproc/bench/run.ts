// Benchmark: one event through 10 handlers, against node:events emit to 10 listeners.
// Run with `pnpm --filter @flow/evproc bench`. Not part of the tests.
import { fileURLToPath } from 'node:url';
import {
  type Figure,
  header,
  mb,
  printTable,
  ROUNDS,
  ratio,
  runChild,
  saveFigures,
  showSpread,
  showTarget,
  spread,
  type Target,
  verdict,
} from '../../eventor/bench/harness.js';
import { LISTENERS, type Sample } from './cases.js';

/**
 * Each round runs emit, processSync and process in a fresh process each (a case's process warms up
 * its own path only), side by side (in reverse order every other round), so drift in machine load
 * hits all alike. The ratio is time per
 * event: processSync's ns/op over emit's in the same round, so lower is better; the target
 * "<= 0.7x" means processSync takes at most 70% of the time emit does for the same 10 handlers.
 */
const CASES = fileURLToPath(new URL('./cases.ts', import.meta.url));
const SYNC_TARGET: Target = { sense: '<=', value: 0.7 };

const emit: Sample[] = [];
const sync: Sample[] = [];
const async: Sample[] = [];
console.log(header('@flow/evproc bench'));
const samples: Record<string, Sample[]> = { emit, processSync: sync, process: async };
for (let round = 0; round < ROUNDS; round++) {
  // the order reverses every other round, so a drift within a round does not always favour one case
  const order = Object.keys(samples);
  for (const name of round % 2 === 0 ? order : order.reverse())
    samples[name]?.push(runChild<Sample>(CASES, name));
}

const toEmit = (samples: Sample[]) => spread(samples.map((s, i) => s.nsPerOp / (emit[i] as Sample).nsPerOp));
const ns = (samples: Sample[]) => showSpread(spread(samples.map((s) => s.nsPerOp)), (v) => v.toFixed(1));
const rss = (samples: Sample[]) => showSpread(spread(samples.map((s) => s.peakRssMb)), mb);
const syncRatio = toEmit(sync);

console.log('');
printTable(
  ['case', 'ns per event (min-max)', 'time ratio (min-max)', 'target', 'verdict', 'peak RSS MB'],
  [
    [`node:events emit, ${LISTENERS} listeners (baseline)`, ns(emit), '', '', '', rss(emit)],
    [
      `processSync, ${LISTENERS} of 100 handlers by name`,
      ns(sync),
      `${showSpread(syncRatio, ratio, 'x')} emit`,
      showTarget(SYNC_TARGET),
      verdict(syncRatio.median, SYNC_TARGET),
      rss(sync),
    ],
    [
      'process (async path, all sync handlers)',
      ns(async),
      `${showSpread(toEmit(async), ratio, 'x')} emit`,
      '',
      '',
      rss(async),
    ],
  ],
);
console.log(
  "time ratio: the case's ns per event over emit's in the same round (lower is faster); each case's process\n" +
    'times 5 batches of 200,000 events after 200,000 warm-up events and reports their median.',
);

const figures: Figure[] = [
  {
    name: `evproc: processSync time / node:events emit time (${LISTENERS} handlers)`,
    ratio: syncRatio,
    target: SYNC_TARGET,
  },
];
saveFigures('evproc', figures);
