/** Flags whose value may come as the next argument; dropped together with it. */
const DROPPED_WITH_VALUE = new Set([
  '-e',
  '--eval',
  '-p',
  '--print',
  '--input-type',
  '--inspect-port',
  '--debug-port',
  '--watch-path',
  '--test-name-pattern',
  '--test-skip-pattern',
  '--test-reporter',
  '--test-reporter-destination',
  '--test-concurrency',
  '--test-timeout',
  '--test-shard',
]);
const DROPPED = /^--(eval|print|input-type|inspect|debug|test|watch)(-|=|$)/;

/**
 * The parent's Node flags a forked child should inherit, as `fork` does by default: loaders (tsx),
 * conditions, source maps and the like, but not code to evaluate (and its --input-type), an inspector
 * port already taken, the test runner or watch mode, which would make the child something else.
 */
export function childExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (DROPPED_WITH_VALUE.has(arg)) {
      const next = execArgv[i + 1];
      if (next !== undefined && !next.startsWith('-')) i++;
      continue;
    }
    if (DROPPED.test(arg) || arg === '-i' || arg === '--interactive') continue;
    out.push(arg);
  }
  return out;
}
