import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type RunResult, TestClock } from '@flow/eventor';
import { buildOnboardingFlow, type Mail } from './flow.js';

export interface DemoOutcome {
  result: RunResult;
  sent: Mail[];
  /** Real time the day of flow time took, in ms. */
  realMs: number;
}

/**
 * Runs a day of onboarding for two users on a TestClock, with a mail service that is down for the
 * first call, and prints each mail with its (virtual) time.
 */
export async function main(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {
  const dir = mkdtempSync(join(tmpdir(), 'eventor-testclock-'));
  const clock = new TestClock({ start: '2026-03-02T09:00:00Z' });
  const sent: Mail[] = [];
  let calls = 0;
  const { ev, signUp } = buildOnboardingFlow({
    store: join(dir, 'onboarding.run.db'),
    clock,
    logLevel: 'silent',
    mailer: (mail) => {
      calls += 1;
      if (calls === 1) throw new Error('mail service unavailable');
      sent.push(mail);
    },
  });
  try {
    signUp('ada@example.com');
    signUp('grace@example.com');
    const began = performance.now();
    const result = await ev.run();
    const realMs = Math.round(performance.now() - began);
    for (const mail of sent) write(`${new Date(mail.at).toISOString()}  ${mail.to}: ${mail.subject}`);
    write(`${result.status}: a day of flow time in ${realMs} ms of real time`);
    return { result, sent, realMs } satisfies DemoOutcome;
  } finally {
    ev.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { result } = await main();
  process.exitCode = result.status === 'success' ? 0 : 1;
}
