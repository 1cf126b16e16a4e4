import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEtl } from '../src/main.js';

/**
 * The store of a test run: the example's own temp file, or, when FLOW_TEST_STORE_URL names a
 * PostgreSQL database (this example's postgres test project), a Postgres schema of its own there.
 */
function testStore(): string | undefined {
  const database = process.env.FLOW_TEST_STORE_URL;
  if (!database) return undefined;
  const url = new URL(database);
  url.searchParams.set('schema', `example_${randomBytes(6).toString('hex')}`);
  return url.toString();
}

describe('sequent ETL example', () => {
  it('extracts concurrently, fails C2 once, and the recovery runs only C2', async () => {
    const { first, second, journal, delivered, work } = await runEtl(undefined, testStore());

    expect(first.result).toMatchObject({ ok: false, status: 'failure', recovery: 0 });
    const firstStatus = Object.fromEntries(first.tasks.map((task) => [task.step, task.status]));
    expect(firstStatus).toEqual({ A1: 'success', A2: 'success', B: 'success', C1: 'success', C2: 'failure' });
    const c2 = first.tasks.find((task) => task.step === 'C2');
    expect(c2?.error?.message).toMatch(/Step "C2" failed in sequence "1"/);
    expect(c2?.error?.message).toMatch(/exited with code 3/);
    expect(c2?.error?.message).toContain('connection to client-2 refused');

    // A1 and A2 ran at the same time: each saw the other start before it finished
    const extract = (table: string) =>
      JSON.parse(readFileSync(join(work, 'extract', `${table}.json`), 'utf8')) as { overlapped: boolean };
    expect(extract('customers').overlapped).toBe(true);
    expect(extract('orders').overlapped).toBe(true);

    expect(second.result).toMatchObject({
      ok: true,
      status: 'success',
      recovery: 1,
      runId: first.result.runId,
    });
    expect(second.tasks.filter((task) => !task.skipped).map((task) => task.step)).toEqual(['C2']);
    expect(
      second.tasks
        .filter((task) => task.skipped)
        .map((task) => task.step)
        .sort(),
    ).toEqual(['A1', 'A2', 'B', 'C1']);

    // what the commands themselves saw: SEQUENT_ env vars, and C2 alone in the recovery
    expect(journal.slice(0, 2).sort()).toEqual(['A1/1 recovery 0', 'A2/1 recovery 0']);
    expect(journal.slice(2, 3)).toEqual(['B/1 recovery 0']);
    expect(journal.slice(3, 5).sort()).toEqual(['C1/1 recovery 0', 'C2/1 recovery 0']);
    expect(journal.slice(5)).toEqual(['C2/1 recovery 1']);
    expect(delivered).toEqual(['client-1', 'client-2']);
  });
});
