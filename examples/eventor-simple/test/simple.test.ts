import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSimpleFlow } from '../src/flow.js';

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
  const dir = mkdtempSync(join(tmpdir(), 'eventor-simple-test-'));
  dirs.push(dir);
  return join(dir, 'simple.run.db');
}

describe('eventor simple example', () => {
  it('runs s1, s2 and s3 one after another in sequence 1', async () => {
    const { ev, lines } = buildSimpleFlow({ store: tempStore(), logLevel: 'silent' });
    try {
      const result = await ev.run();

      expect(result).toMatchObject({ ok: true, status: 'success', recovery: 0 });
      expect(lines).toEqual([
        'doing what prog1 is doing (s1[1])',
        'doing what prog2 is doing (s2[1])',
        'doing what prog3 is doing (s3[1])',
      ]);
      expect(ev.tasks().map((t) => [t.step, t.sequence, t.status, t.result])).toEqual([
        ['s1', '1', 'success', 'prog1'],
        ['s2', '1', 'success', 'prog2'],
        ['s3', '1', 'success', 'prog3'],
      ]);
    } finally {
      ev.close();
    }
  });

  it('prints the tasks and the outcome through `start`', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toMatch(
      /^s1\[1\]: success, result "prog1"\ns2\[1\]: success, result "prog2"\ns3\[1\]: success, result "prog3"\nRun \S+: success\n$/,
    );
  });
});
