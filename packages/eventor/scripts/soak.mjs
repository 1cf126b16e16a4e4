#!/usr/bin/env node
// The long form of the soak test (test/reliability-soak.test.ts): the same flow, passes and checks,
// for minutes instead of CI's seconds. It loses nothing and leaks nothing, or the test fails.
//
//   node packages/eventor/scripts/soak.mjs [--minutes 10] [--interval 200] [--load-full]
//
// --load-full also runs the load test at its full size (100,000 tasks per scenario).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    interval: { type: 'string', default: '200' },
    'load-full': { type: 'boolean', default: false },
  },
});
const soakMs = Math.round(Number(values.minutes) * 60_000);
const intervalMs = Number(values.interval);
if (!(soakMs >= 5_000) || !(intervalMs >= 0)) {
  console.error(
    `soak: --minutes must be at least 0.1 and --interval a number of ms; got --minutes ${values.minutes} --interval ${values.interval}`,
  );
  process.exit(2);
}

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const files = ['test/reliability-soak.test.ts'];
if (values['load-full']) files.push('test/reliability-load.test.ts');

console.log(
  `soak: ${values.minutes} min of continue passes every ${intervalMs} ms` +
    (values['load-full'] ? ', then the 100,000-task load test' : ''),
);
const result = spawnSync(process.execPath, [vitest, 'run', ...files], {
  cwd: packageRoot,
  stdio: 'inherit',
  env: {
    ...process.env,
    FLOW_SOAK_MS: String(soakMs),
    FLOW_SOAK_INTERVAL_MS: String(intervalMs),
    ...(values['load-full'] ? { FLOW_LOAD_FULL: '1' } : {}),
  },
});
process.exit(result.status ?? 1);
