#!/usr/bin/env node
// The long form of the crash-point harness (test/fixtures-reliability/harness.mjs):
//   node packages/eventor/scripts/crash.mjs [--runs N] [--seed S] [--from S] [--concurrency C] [--keep] [--sequent]
// --runs N      seeds to run (default 100), starting at --from (default: a random seed, printed)
// --sequent     run sequent's harness instead (nested repeats; packages/sequent/test/fixtures-reliability)
// --seed S      replay one seed (time kills are drawn from the seed too, but land where the clock says)
// --concurrency children running at once (default: CPUs, at least 2)
// --keep        keep the temp folders of failed seeds (store, executions, spec) for a look
// Each seed: a child runs a seeded flow on the BUILT package and is killed at a seeded point, the
// run is recovered (more kills in child recoveries, sometimes), and the parent recovers last and
// checks the invariants. Prints each failure with its seed and a replay command; exits 1 on any.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

function usage(message) {
  if (message) console.error(`crash.mjs: ${message}`);
  console.error(
    'usage: node packages/eventor/scripts/crash.mjs [--runs N] [--seed S] [--from S] [--concurrency C] [--keep] [--sequent]',
  );
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      from: { type: 'string' },
      concurrency: { type: 'string' },
      keep: { type: 'boolean', default: false },
      sequent: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: false,
  }));
} catch (error) {
  usage(error.message);
}
if (values.help) usage();
const integer = (name, value, min) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min)
    usage(`--${name} must be an integer >= ${min}; got "${value}"`);
  return number;
};
const runs = values.runs === undefined ? 100 : integer('runs', values.runs, 1);
const concurrency =
  values.concurrency === undefined
    ? Math.max(2, availableParallelism())
    : integer('concurrency', values.concurrency, 1);
let seeds;
if (values.seed !== undefined) seeds = [integer('seed', values.seed, 0)];
else {
  const from =
    values.from === undefined ? 1 + Math.floor(Math.random() * 1_000_000) : integer('from', values.from, 0);
  seeds = Array.from({ length: runs }, (_, i) => from + i);
}

const SEQUENT_ROOT = join(PACKAGE_ROOT, '..', 'sequent');
assertDistIsCurrent(PACKAGE_ROOT, 'eventor');
if (values.sequent) assertDistIsCurrent(SEQUENT_ROOT, 'sequent');
const lib = values.sequent ? await import('../../sequent/dist/index.js') : await import('../dist/index.js');
const { runSeed } = values.sequent
  ? await import('../../sequent/test/fixtures-reliability/harness.mjs')
  : await import('../test/fixtures-reliability/harness.mjs');
const replayFlag = values.sequent ? ' --sequent' : '';

console.log(
  `${values.sequent ? 'sequent' : 'eventor'} crash harness: ${seeds.length} seed(s) from ${seeds[0]}, ` +
    `${concurrency} at a time (replay one with --seed S${replayFlag})`,
);
const started = Date.now();
const failed = [];
const outcomes = { killed: 0, finished: 0 };
const kinds = {};
let done = 0;
let next = 0;
async function worker() {
  while (next < seeds.length) {
    const seed = seeds[next++];
    const report = await runSeed(seed, { lib, keepOnFailure: values.keep });
    done += 1;
    for (const attempt of report.attempts) {
      if (attempt.outcome === 'killed' || attempt.outcome === 'finished') {
        outcomes[attempt.outcome] += 1;
        const kind = attempt.kill.split(':')[0];
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
    }
    if (report.failures.length > 0) {
      failed.push(report);
      printFailure(report);
    } else if (seeds.length > 1 && (done % 25 === 0 || done === seeds.length)) {
      console.log(`  ${done}/${seeds.length} seeds checked, ${failed.length} failed (${elapsed()})`);
    } else if (seeds.length === 1) {
      console.log(`seed ${seed} ok: ${report.flow}; ${plan(report)}`);
    }
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, seeds.length) }, worker));

const kindList = Object.entries(kinds)
  .map(([kind, count]) => `${kind} ${count}`)
  .join(', ');
console.log(
  `\n${seeds.length} seed(s), ${failed.length} failed, in ${elapsed()}. ` +
    `Children: ${outcomes.killed} killed, ${outcomes.finished} finished before their kill point (${kindList}).`,
);
if (failed.length > 0) {
  console.log(`Failed seeds: ${failed.map((report) => report.seed).join(' ')}`);
  process.exit(1);
}

function printFailure(report) {
  console.log(`\nseed ${report.seed} FAILED: ${report.flow}; ${plan(report)}`);
  for (const failure of report.failures.slice(0, 12)) console.log(`    ${failure}`);
  if (report.failures.length > 12) console.log(`    ... and ${report.failures.length - 12} more`);
  if (values.keep) console.log(`    kept: ${report.dir}`);
  console.log(
    `    replay: pnpm test:crash --seed ${report.seed}${replayFlag}   (or node packages/eventor/scripts/crash.mjs --seed ${report.seed}${replayFlag})`,
  );
}

function plan(report) {
  return report.attempts.map((a) => `${a.runMode} ${a.kill} -> ${a.outcome}`).join(', ');
}

function elapsed() {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

function assertDistIsCurrent(root, name) {
  const entry = join(root, 'dist', 'index.js');
  if (!existsSync(entry)) {
    console.error(`${entry} is missing: build first with \`pnpm --filter @flow/${name} build\`.`);
    process.exit(2);
  }
  if (newestMtime(join(root, 'src')) > newestMtime(join(root, 'dist'))) {
    console.error(
      `packages/${name}/dist is older than src, so the harness would test stale code: ` +
        `rebuild with \`pnpm --filter @flow/${name} build\` (\`pnpm test:crash\` does).`,
    );
    process.exit(2);
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
