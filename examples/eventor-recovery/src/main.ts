import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Eventor, Logger, RunResult } from '@flow/eventor';
import { buildRecoveryFlow } from './flow.js';

const STEPS = ['s1', 's2', 's3'];
const SEQUENCE = '3';

/** One line per step of this attempt: ran, skipped, failed or not started, with its result. */
export function summarize(ev: Eventor, result: RunResult): string[] {
  const tasks = ev.tasks({ recovery: result.recovery });
  return STEPS.map((step) => {
    const where = `${step}[${SEQUENCE}]`;
    const task = tasks.find((t) => t.step === step && t.sequence === SEQUENCE);
    if (!task) return `  ${where}  not started`;
    if (task.skipped)
      return `  ${where}  skipped: it succeeded before (result ${JSON.stringify(task.result)})`;
    if (task.status === 'success') return `  ${where}  ran:     result ${JSON.stringify(task.result)}`;
    if (task.status === 'failure') return `  ${where}  failed:  ${task.error?.message ?? 'no message'}`;
    return `  ${where}  ${task.status}`;
  });
}

export interface DemoOptions {
  /** The store file; a new temp file when omitted. */
  store?: string;
  /** Where engine logs go (default: stderr); the summary always goes to `write`. */
  logger?: Logger;
  write?: (line: string) => void;
}

/** Runs the flow with a bad input (it fails at s2), then recovers the same run with a good one. */
export async function main({
  store,
  logger,
  write = (line) => process.stdout.write(`${line}\n`),
}: DemoOptions = {}) {
  const file = store ?? join(mkdtempSync(join(tmpdir(), 'eventor-recovery-')), 'recovery.run.db');
  const common = { store: file, logLevel: 'info' as const, ...(logger ? { logger } : {}) };

  write('== Run 1: restart. s2 takes the square root of -9, so it fails and s3 never starts.');
  const first = buildRecoveryFlow({ ...common, runMode: 'restart', param: -9 });
  const failed = await first.run();
  write(`== Run 1 ended: ${failed.status} (ok: ${failed.ok}). The run's state is kept in ${file}`);
  for (const line of summarize(first, failed)) write(line);
  first.close();

  write('');
  write('== Run 2: recover the same run with s2 fixed (square root of 9).');
  write('   s1 succeeded last time, so it is skipped; s2 and s3 run.');
  const second = buildRecoveryFlow({ ...common, runMode: 'recover', param: 9 });
  const recovered = await second.run();
  write(
    `== Run 2 (recovery ${recovered.recovery} of run ${recovered.runId}) ended: ${recovered.status} (ok: ${recovered.ok})`,
  );
  for (const line of summarize(second, recovered)) write(line);
  second.close();

  write('');
  write('== Look at both recoveries in a browser (read-only; Ctrl-C stops it):');
  write(`   pnpm --filter @flow/example-eventor-recovery exec eventor ui ${file}`);

  return { failed, recovered, store: file };
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { recovered } = await main();
  process.exitCode = recovered.ok ? 0 : 1;
}
