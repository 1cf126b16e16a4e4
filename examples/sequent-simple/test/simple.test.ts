import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSimple } from '../src/main.js';

const ORDER = [
  's1_s11_s111/1.1.1',
  's1_s11_s112/1.1.1',
  's1_s11_s111/1.1.2',
  's1_s11_s112/1.1.2',
  's1_s12/1.1',
  's1_s11_s111/1.2.1',
  's1_s11_s112/1.2.1',
  's1_s11_s111/1.2.2',
  's1_s11_s112/1.2.2',
  's1_s12/1.2',
  's2/1',
];

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

describe('sequent simple example', () => {
  it('runs every leaf in the seed order and ends with s2', async () => {
    const { result, lines, executed } = await runSimple(testStore());
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 0 });
    expect(executed).toEqual(ORDER);
    expect(lines[0]).toBe('doing what prog1 is doing (s1_s11_s111/1.1.1)');
    expect(lines[4]).toBe('doing what prog3 is doing (s1_s12/1.1)');
    expect(lines.at(-1)).toBe('doing what prog4 is doing (s2/1)');
  });

  it('prints the same through `start`', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', main], { encoding: 'utf8' });
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(12);
    expect(lines.at(-2)).toBe('doing what prog4 is doing (s2/1)');
    expect(lines.at(-1)).toBe('Processing finished with: success');
  });
});
