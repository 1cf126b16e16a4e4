import { fileURLToPath } from 'node:url';
import {
  count,
  type Figure,
  header,
  mb,
  printTable,
  ROUNDS,
  ratio,
  runChild,
  type Spread,
  saveFigures,
  showSpread,
  showTarget,
  spread,
  type Target,
  verdict,
} from './harness.js';
import { LONG_CHAIN, RECOVER_CHAIN, type RecoveryResult, type ScenarioResult } from './scenarios.js';

/**
 * `pnpm bench` for eventor. Every case runs once per round in a fresh process (its peak RSS is its
 * own), each next to a run of the raw SQLite baseline (after it in even rounds, before it in odd
 * ones); a case's ratio is the median over rounds of its rate over that baseline run's, so drift in
 * machine load hits both alike. The recover case (timed against its own first run) and the cold
 * 1,000-step chain (for the RSS check only) need no baseline beside them. Then the PostgreSQL
 * store's rows (postgres-run.ts), then the step kinds (runners.ts).
 */
const SCENARIO_FILE = fileURLToPath(new URL('./scenarios.ts', import.meta.url));
const run = <T extends ScenarioResult>(name: string): T => runChild<T>(SCENARIO_FILE, name);

const CHAIN_TARGET: Target = { sense: '>=', value: 0.4 };
const FANOUT_TARGET: Target = { sense: '>=', value: 3.0 };
const RECOVERY_TARGET: Target = { sense: '<=', value: 1.5 };
/** What a run adds to the RSS of its defined flow may not double for 10x the history. */
const RSS_TARGET: Target = { sense: '<=', value: 2 };

interface Pair<T extends ScenarioResult> {
  sample: T;
  base: ScenarioResult;
}
const baseline: ScenarioResult[] = [];
const chain: Array<Pair<ScenarioResult>> = [];
const fanout: Array<Pair<ScenarioResult>> = [];
const fanout50k: Array<Pair<ScenarioResult>> = [];
const longCold: Array<Pair<ScenarioResult>> = [];
const recover: RecoveryResult[] = [];
const cold: ScenarioResult[] = [];

function pair<T extends ScenarioResult>(into: Array<Pair<T>>, name: string, round: number): void {
  let base: ScenarioResult;
  let sample: T;
  if (round % 2 === 0) {
    base = run('raw');
    sample = run<T>(name);
  } else {
    sample = run<T>(name);
    base = run('raw');
  }
  baseline.push(base);
  into.push({ sample, base });
}

console.log(header('@flow/eventor bench'));
for (let round = 0; round < ROUNDS; round++) {
  pair(chain, 'chain', round);
  pair(fanout, 'fanout', round);
  pair(fanout50k, 'fanout50k', round);
  pair(longCold, 'chainLongCold', round);
  recover.push(run<RecoveryResult>('recoverChain'));
  cold.push(run('chainCold'));
}

const of = <T extends ScenarioResult, R>(pairs: Array<Pair<T>>, pick: (sample: T) => R) =>
  pairs.map((p) => pick(p.sample));
const toBaseline = (pairs: Array<Pair<ScenarioResult>>) =>
  spread(pairs.map((p) => p.sample.perSecond / p.base.perSecond));
const rates = (values: number[]) => showSpread(spread(values), count);
const rss = (values: number[]) => showSpread(spread(values), mb);

const chainRatio = toBaseline(chain);
const fanoutRatio = toBaseline(fanout);
const recoveryRatio = spread(recover.map((r) => r.recoverMs / r.firstMs));
const ratioCell = (s: Spread, of: string) => `${showSpread(s, ratio, 'x')} ${of}`;
const n = (value: number) => value.toLocaleString('en-US');

console.log('');
printTable(
  ['case', 'per second (min-max)', 'ratio (min-max)', 'target', 'verdict', 'peak RSS MB'],
  [
    [
      'raw better-sqlite3 commits (baseline)',
      rates(baseline.map((s) => s.perSecond)),
      '',
      '',
      '',
      rss(baseline.map((s) => s.peakRssMb)),
    ],
    [
      'chain, 1,000 steps',
      rates(of(chain, (s) => s.perSecond)),
      ratioCell(chainRatio, 'baseline'),
      showTarget(CHAIN_TARGET),
      verdict(chainRatio.median, CHAIN_TARGET),
      rss(of(chain, (s) => s.peakRssMb)),
    ],
    [
      'fan-out, 10,000 no-op steps',
      rates(of(fanout, (s) => s.perSecond)),
      ratioCell(fanoutRatio, 'baseline'),
      showTarget(FANOUT_TARGET),
      verdict(fanoutRatio.median, FANOUT_TARGET),
      rss(of(fanout, (s) => s.peakRssMb)),
    ],
    [
      'fan-out, 50,000 no-op steps',
      rates(of(fanout50k, (s) => s.perSecond)),
      ratioCell(toBaseline(fanout50k), 'baseline'),
      '',
      '',
      rss(of(fanout50k, (s) => s.peakRssMb)),
    ],
    [
      `chain, ${n(LONG_CHAIN)} steps, no warm-up`,
      rates(of(longCold, (s) => s.perSecond)),
      ratioCell(toBaseline(longCold), 'baseline'),
      '',
      '',
      rss(of(longCold, (s) => s.peakRssMb)),
    ],
    [
      `recover a ${n(RECOVER_CHAIN)}-step chain that succeeded`,
      rates(recover.map((s) => s.perSecond)),
      ratioCell(recoveryRatio, 'first run time'),
      showTarget(RECOVERY_TARGET),
      verdict(recoveryRatio.median, RECOVERY_TARGET),
      rss(recover.map((s) => s.peakRssMb)),
    ],
  ],
);
console.log(
  'per second: commits (baseline), steps, skipped steps (recover). A rate ratio is over the baseline run next\n' +
    "to it in the same round; recover's is its time over its own process's first run. Verdicts on medians.",
);

// RSS must not grow with history: what a cold run adds to the RSS of its defined flow, 1,000 vs 10,000
// steps (no warm-up in either, so nothing a warm-up left counts), paired by round. A floor of 1 MB on
// what a run adds keeps a round whose run added nothing finite. The slope, KB per extra step, shows
// growth too small for the ratio's target to catch.
const addedMb = (peak: number, before: number) => Math.max(1, peak - before);
const shortAdded = cold.map((s) => addedMb(s.peakRssMb, s.rssBeforeMb));
const longAdded = of(longCold, (s) => addedMb(s.peakRssMb, s.rssBeforeMb));
const rssRatio = spread(longAdded.map((long, i) => long / (shortAdded[i] as number)));
const kbPerStep = spread(
  longAdded.map((long, i) => ((long - (shortAdded[i] as number)) * 1024) / (LONG_CHAIN - 1_000)),
);
const peaks =
  `peak RSS of a cold chain run, 1,000 vs ${n(LONG_CHAIN)} steps: ${rss(cold.map((s) => s.peakRssMb))} vs ` +
  `${rss(of(longCold, (s) => s.peakRssMb))} MB; the run adds ${rss(shortAdded)} vs ${rss(longAdded)} MB to its ` +
  `defined flow, ${showSpread(kbPerStep, (v) => v.toFixed(1))} KB per extra step`;
console.log(`\n${peaks}:`);
console.log(
  `${showSpread(rssRatio, ratio, 'x')} for 10x the history, target ${showTarget(RSS_TARGET)}: ` +
    `${verdict(rssRatio.median, RSS_TARGET)}. RSS before run(), the flow defined: ` +
    `${rss(cold.map((s) => s.rssBeforeMb))} MB at 1,000 steps, ${rss(of(longCold, (s) => s.rssBeforeMb))} MB at ${n(LONG_CHAIN)}.`,
);

const figures: Figure[] = [
  { name: 'eventor: 1,000-step chain, steps/s / raw commits/s', ratio: chainRatio, target: CHAIN_TARGET },
  {
    name: 'eventor: 10,000-step fan-out, steps/s / raw commits/s',
    ratio: fanoutRatio,
    target: FANOUT_TARGET,
  },
  {
    name: `eventor: RSS a chain run adds, ${n(LONG_CHAIN)} / 1,000 steps`,
    ratio: rssRatio,
    target: RSS_TARGET,
  },
];
saveFigures('eventor', figures, [`eventor: ${peaks}.`]);

// The same flows on a PostgreSQL store, against raw pg commits on the same server (issue 13).
if (process.env.FLOW_BENCH_SKIP_POSTGRES !== '1') {
  const { runPostgresBench } = await import('./postgres-run.js');
  await runPostgresBench(ROUNDS);
}

// Step kinds: per-step overhead of worker, process and command steps against inline and bare spawns.
if (process.env.FLOW_BENCH_SKIP_RUNNERS !== '1') {
  const { runRunnerBench } = await import('./runners.js');
  await runRunnerBench();
}
