import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@flow/eventor';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRecoveryFlow } from '../src/flow.js';
import { main } from '../src/main.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * A store for one test: a file in a temp folder, or, when FLOW_TEST_STORE_URL names a PostgreSQL
 * database (this example's postgres test project), a Postgres schema of its own there.
 */
function tempStore(): string {
  const database = process.env.FLOW_TEST_STORE_URL;
  if (database) {
    const url = new URL(database);
    url.searchParams.set('schema', `example_${randomBytes(6).toString('hex')}`);
    return url.toString();
  }
  const dir = mkdtempSync(join(tmpdir(), 'eventor-recovery-test-'));
  dirs.push(dir);
  return join(dir, 'recovery.run.db');
}

/** Keeps `message` of every record, to check what the steps logged. */
function memoryLogger() {
  const messages: string[] = [];
  const push = (obj: unknown, msg?: string) => {
    messages.push(typeof obj === 'string' ? obj : (msg ?? ''));
  };
  const logger: Logger = { debug: push, info: push, warn: push, error: push };
  return { logger, messages };
}

describe('eventor recovery example', () => {
  it('fails at s2 on sqrt(-9), then recovers the same run: s1 skipped, s2 and s3 run', async () => {
    const store = tempStore();
    const { logger, messages } = memoryLogger();

    const first = buildRecoveryFlow({ store, param: -9, logger, logLevel: 'info' });
    const failed = await first.run();
    const firstTasks = first.tasks();
    first.close();

    expect(failed).toMatchObject({ ok: false, status: 'failure', recovery: 0 });
    expect(firstTasks.map((t) => [t.step, t.sequence, t.status])).toEqual([
      ['s1', '3', 'success'],
      ['s2', '3', 'failure'],
    ]);
    expect(firstTasks[1]?.error?.message).toMatch(/"s2".*"3".*math domain error/);
    expect(messages).toContain('Square of 3 is 9');

    const second = buildRecoveryFlow({ store, runMode: 'recover', param: 9, logger, logLevel: 'info' });
    const recovered = await second.run();
    const secondTasks = second.tasks({ recovery: 1 });
    second.close();

    expect(recovered).toMatchObject({ ok: true, status: 'success', recovery: 1, runId: failed.runId });
    expect(secondTasks.map((t) => [t.step, t.status, t.skipped, t.result])).toEqual([
      ['s1', 'success', true, 9],
      ['s2', 'success', false, 3],
      ['s3', 'success', false, 3],
    ]);
    expect(messages).toContain('Square root of 9 is 3');
    expect(messages).toContain('Dividing 9 by 3 is 3');
    expect(messages.filter((m) => m === 'Square of 3 is 9')).toHaveLength(1);
  });

  it('prints a summary of both runs for a newcomer', async () => {
    const lines: string[] = [];
    const { logger } = memoryLogger();
    const store = tempStore();
    const { failed, recovered } = await main({
      store,
      logger,
      write: (line) => lines.push(line),
    });

    expect(failed.status).toBe('failure');
    expect(recovered.status).toBe('success');
    const text = lines.join('\n');
    expect(text).toMatch(/Run 1 ended: failure/);
    expect(text).toMatch(/s1\[3\]\s+ran:\s+result 9/);
    expect(text).toMatch(/s2\[3\]\s+failed:.*math domain error/);
    expect(text).toMatch(/s3\[3\]\s+not started/);
    expect(text).toMatch(/Run 2 \(recovery 1 of run \S+\) ended: success/);
    expect(text).toMatch(/s1\[3\]\s+skipped: it succeeded before \(result 9\)/);
    expect(text).toMatch(/s2\[3\]\s+ran:\s+result 3/);
    expect(text).toMatch(/s3\[3\]\s+ran:\s+result 3/);
    expect(lines.at(-1)).toBe(`   pnpm --filter @flow/example-eventor-recovery exec eventor ui ${store}`);
  });
});
