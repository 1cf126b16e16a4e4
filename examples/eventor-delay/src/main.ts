import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { Logger, RunResult } from '@flow/eventor';
import { buildDelayFlow, type Execution } from './flow.js';

export interface Pass {
  mode: 'restart' | 'continue';
  /** ms since the first pass started. */
  startedAt: number;
  ran: Execution[];
  result: RunResult;
  pending: { count: number; nextDelayIn: number | null };
}

export interface DelayDemoOptions {
  store?: string;
  logger?: Logger;
  write?: (line: string) => void;
  /** Delay of the s2 and s3 assocs, in ms. */
  delay?: number;
  /** Pauses before each continue pass, in ms (the seed slept 15 s, 5 s, 5 s and 15 s with a 10 s delay). */
  pauses?: number[];
}

/**
 * Runs the flow one pass at a time, as a cron job would: a restart pass, then continue passes after
 * pauses. A pass (`maxLoops: 1`) does what is ready and returns; delays not yet due stay in the store.
 */
export async function main({
  store,
  logger,
  write = (line) => process.stdout.write(`${line}\n`),
  delay = 300,
  pauses = [450, 150, 250, 450],
}: DelayDemoOptions = {}): Promise<Pass[]> {
  const file = store ?? join(mkdtempSync(join(tmpdir(), 'eventor-delay-')), 'delay.run.db');
  const passes: Pass[] = [];
  const began = Date.now();
  for (let i = 0; i <= pauses.length; i++) {
    if (i > 0) await sleep(pauses[i - 1]);
    const mode = i === 0 ? 'restart' : 'continue';
    const startedAt = Date.now() - began;
    const { ev, executions } = buildDelayFlow({
      store: file,
      runMode: mode,
      delay,
      logLevel: 'info',
      ...(logger ? { logger } : {}),
    });
    const result = await ev.run({ maxLoops: 1 });
    const pending = ev.pending();
    ev.close();
    passes.push({ mode, startedAt, ran: executions, result, pending });

    const ran =
      executions.length > 0 ? executions.map((e) => `${e.step}[${e.sequence}]`).join(', ') : 'nothing';
    const next = pending.nextDelayIn === null ? '' : `, next delay due in ${pending.nextDelayIn} ms`;
    write(`pass ${i + 1} (${mode}) at +${startedAt} ms: ran ${ran}; ${result.status}${next}`);
  }
  return passes;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const passes = await main();
  process.exitCode = passes.at(-1)?.result.status === 'success' ? 0 : 1;
}
