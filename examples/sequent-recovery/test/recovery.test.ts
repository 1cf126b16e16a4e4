import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runRecovery } from '../src/main.js';

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

describe('sequent recovery example', () => {
  it('fails in 1.2.2, then the recovery executes exactly the failed leaf onward', async () => {
    const { failing, recovering } = await runRecovery(testStore());
    expect(failing.result).toMatchObject({ ok: false, status: 'failure', recovery: 0 });
    expect(failing.executed.at(-1)).toBe('s1_s11_s111/1.2.2');
    expect(failing.executed).toHaveLength(8);
    expect(failing.error).toMatch(
      /Step "s1_s11_s111" failed in sequence "1.2.2".*prog1 failed \(s1_s11_s111\/1.2.2\)/,
    );

    expect(recovering.result).toMatchObject({
      ok: true,
      status: 'success',
      recovery: 1,
      runId: failing.result.runId,
    });
    expect(recovering.executed).toEqual(['s1_s11_s111/1.2.2', 's1_s11_s112/1.2.2', 's1_s12/1.2', 's2/1']);
    expect(recovering.lines).toEqual([
      'doing what prog1 is doing (s1_s11_s111/1.2.2)',
      'doing what prog2 is doing (s1_s11_s112/1.2.2)',
      'doing what prog3 is doing (s1_s12/1.2)',
      'doing what prog4 is doing (s2/1)',
    ]);
  });
});
