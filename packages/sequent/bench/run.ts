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
import type { RecoverySample, Sample } from './cases.js';

/**
 * `pnpm bench` for sequent: 10 x 10 x 10 nested repeats with one no-op leaf per innermost iteration
 * (1,000 leaves) against eventor's 1,000-step chain, each in a fresh process per round, side by side
 * (in turn first), so drift in machine load hits both; the ratio is the median over rounds of the
 * two costs per unit.
 * Then a recover of a 10,000-iteration flow that succeeded, against its first run.
 */
const CASES = fileURLToPath(new URL('./cases.ts', import.meta.url));
const LEAF_TARGET: Target = { sense: '<=', value: 2 };
const RECOVERY_TARGET: Target = { sense: '<=', value: 1.5 };

const chain: Sample[] = [];
const nested: Sample[] = [];
const recover: RecoverySample[] = [];
console.log(header('@flow/sequent bench'));
for (let round = 0; round < ROUNDS; round++) {
  // which side goes first alternates, so a drift within a round does not always favour one
  const pairing = ['eventorChain', 'sequentNested'];
  for (const name of round % 2 === 0 ? pairing : pairing.reverse()) {
    (name === 'eventorChain' ? chain : nested).push(runChild<Sample>(CASES, name));
  }
  recover.push(runChild<RecoverySample>(CASES, 'sequentRecover'));
}

const perUnit = (s: Sample) => (s.ms * 1000) / s.units;
const leafRatio = spread(nested.map((s, i) => perUnit(s) / perUnit(chain[i] as Sample)));
const recoveryRatio = spread(recover.map((r) => r.recoverMs / r.firstMs));
const us = (samples: Sample[]) => showSpread(spread(samples.map(perUnit)), (v) => v.toFixed(1));
const rss = (samples: Sample[]) => showSpread(spread(samples.map((s) => s.peakRssMb)), mb);

console.log('');
printTable(
  ['case', 'µs per unit (min-max)', 'ratio (min-max)', 'target', 'verdict', 'peak RSS MB'],
  [
    ['eventor chain, 1,000 steps (baseline)', us(chain), '', '', '', rss(chain)],
    [
      'sequent 10 x 10 x 10 repeats, 1 leaf each',
      us(nested),
      `${showSpread(leafRatio, ratio, 'x')} chain step`,
      showTarget(LEAF_TARGET),
      verdict(leafRatio.median, LEAF_TARGET),
      rss(nested),
    ],
    [
      'recover a 10,000-iteration flow (skipped)',
      showSpread(spread(recover.map((r) => (r.recoverMs * 1000) / r.units)), (v) => v.toFixed(1)),
      `${showSpread(recoveryRatio, ratio, 'x')} first run`,
      showTarget(RECOVERY_TARGET),
      verdict(recoveryRatio.median, RECOVERY_TARGET),
      rss(recover),
    ],
  ],
);
console.log(
  "units: leaves (sequent), steps (eventor). The leaf ratio is sequent's cost per leaf over eventor's cost per\n" +
    "chain step in the same round; the recover ratio is its time over the same process's first run.",
);

const figures: Figure[] = [
  {
    name: 'sequent: cost per leaf (10x10x10) / eventor cost per chain step',
    ratio: leafRatio,
    target: LEAF_TARGET,
  },
];
saveFigures('sequent', figures);
