// Command step of the crash harness:
//   node command.mjs <executions file> <sleep ms> [<env prefix> [<first-run ms> [<chatty: 0|1> [<done file>]]]]
// Records the call from the step env vars the engine sets, works `sleep ms` (plus `first-run ms` in
// recovery 0, so a test can kill the engine while it runs), printing a line every 50 ms when chatty;
// then appends its pid to `done file` (when given) and exits 0.
import { appendFileSync } from 'node:fs';

const [file, sleepMs = '0', prefix = 'EVENTOR_', firstRunMs = '0', chatty = '0', doneFile] =
  process.argv.slice(2);
const env = (name) => process.env[`${prefix}${name}`];
const recovery = Number(env('STEP_RECOVERY'));
appendFileSync(
  file,
  `${JSON.stringify({ s: env('STEP_NAME'), q: env('STEP_SEQUENCE'), r: recovery, pid: process.pid, t: Date.now() })}\n`,
);
const ms = Number(sleepMs) + (recovery === 0 ? Number(firstRunMs) : 0);
const ticker = chatty === '1' ? setInterval(() => console.log(`working ${Date.now()}`), 50) : undefined;
if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
clearInterval(ticker);
if (doneFile) appendFileSync(doneFile, `${process.pid}\n`);
