import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RecoveryResult, ScenarioResult } from './scenarios.js';

/**
 * `pnpm bench`: each scenario runs in its own process (so peak RSS is its own), three times; the
 * median is reported with its ratio to the raw SQLite commit rate measured in this same run.
 */
const SCENARIO_FILE = fileURLToPath(new URL('./scenarios.ts', import.meta.url));
const ROUNDS = Number(process.env.FLOW_BENCH_ROUNDS ?? 3);

function runScenario(name: string): ScenarioResult {
  const samples: ScenarioResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', SCENARIO_FILE, name], {
      encoding: 'utf8',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    samples.push(JSON.parse(out.trim().split('\n').pop() as string) as ScenarioResult);
  }
  samples.sort((a, b) => a.perSecond - b.perSecond);
  return samples[Math.floor(samples.length / 2)] as ScenarioResult;
}

const baseline = runScenario('raw');
const rows: Array<{ result: ScenarioResult; target?: number }> = [
  { result: baseline },
  { result: runScenario('fanout'), target: 1.5 },
  { result: runScenario('fanout50k') },
  { result: runScenario('chain'), target: 0.35 },
];

const pad = (text: string, width: number) => text.padEnd(width);
console.log(
  `\n@flow/eventor bench (median of ${ROUNDS}; node ${process.version}; ${new Date().toISOString()})\n`,
);
console.log(
  `${pad('scenario', 44)}${pad('ops/s', 12)}${pad('x baseline', 12)}${pad('target', 10)}${pad('peak RSS', 10)}`,
);
for (const { result, target } of rows) {
  const ratio = result.perSecond / baseline.perSecond;
  const verdict = target === undefined ? '' : `>= ${target}x ${ratio >= target ? 'ok' : 'MISSED'}`;
  console.log(
    `${pad(result.name, 44)}${pad(Math.round(result.perSecond).toLocaleString('en-US'), 12)}` +
      `${pad(`${ratio.toFixed(2)}x`, 12)}${pad(verdict, 10)}${pad(`${result.peakRssMb.toFixed(0)} MB`, 10)}`,
  );
}
console.log('\nops/s: commits/s for the baseline, steps/s for the engine. Peak RSS is per scenario process.');

// Recovery: a recover of a run that succeeded skips every task; it must cost about what the first run did.
const recovery = runScenario('recoverChain') as RecoveryResult;
const recoveryRatio = recovery.recoverMs / recovery.firstMs;
console.log(
  `\n${pad('recovery (ratio to its first run, same process)', 50)}${pad('first run', 12)}${pad('recover', 12)}${pad('x first run', 13)}target`,
);
console.log(
  `${pad(recovery.name, 50)}${pad(`${recovery.firstMs.toFixed(0)} ms`, 12)}${pad(`${recovery.recoverMs.toFixed(0)} ms`, 12)}` +
    `${pad(`${recoveryRatio.toFixed(2)}x`, 13)}<= 1.5x ${recoveryRatio <= 1.5 ? 'ok' : 'MISSED'}`,
);

// Step kinds: per-step overhead of worker, process and command steps against inline and bare spawns.
if (process.env.FLOW_BENCH_SKIP_RUNNERS !== '1') {
  const { runRunnerBench } = await import('./runners.js');
  await runRunnerBench();
}
