import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDelayFlow } from '../src/flow.js';
import { main } from '../src/main.js';

const DELAY = 600;

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
  const dir = mkdtempSync(join(tmpdir(), 'eventor-delay-test-'));
  dirs.push(dir);
  return join(dir, 'delay.run.db');
}

/** One `maxLoops: 1` pass of the flow on `store`. */
async function pass(store: string, runMode: 'restart' | 'continue') {
  const { ev, executions } = buildDelayFlow({ store, runMode, delay: DELAY, logLevel: 'silent' });
  try {
    const result = await ev.run({ maxLoops: 1 });
    return { result, ran: executions, pending: ev.pending() };
  } finally {
    ev.close();
  }
}

describe('eventor delay example', () => {
  it('runs s2 and s3 only after their delays, one pass at a time; passes in between run nothing', async () => {
    const store = tempStore();

    const p1 = await pass(store, 'restart');
    expect(p1.ran.map((e) => e.step)).toEqual(['s1']);
    expect(p1.result).toMatchObject({ ok: true, status: 'incomplete' });
    expect(p1.pending.count).toBe(1);
    expect(p1.pending.nextDelayIn).toBeGreaterThan(0);
    expect(p1.pending.nextDelayIn).toBeLessThanOrEqual(DELAY);

    const p2 = await pass(store, 'continue');
    expect(p2.ran).toEqual([]);
    expect(p2.result.status).toBe('incomplete');

    await sleep((p2.pending.nextDelayIn ?? 0) + 20);
    const p3 = await pass(store, 'continue');
    expect(p3.ran.map((e) => e.step)).toEqual(['s2']);
    expect(p3.ran[0]!.at - p1.ran[0]!.at).toBeGreaterThanOrEqual(DELAY);
    expect(p3.result.status).toBe('incomplete');

    const p4 = await pass(store, 'continue');
    expect(p4.ran).toEqual([]);

    await sleep((p4.pending.nextDelayIn ?? 0) + 20);
    const p5 = await pass(store, 'continue');
    expect(p5.ran.map((e) => e.step)).toEqual(['s3']);
    expect(p5.ran[0]!.at - p3.ran[0]!.at).toBeGreaterThanOrEqual(DELAY);
    expect(p5.result).toMatchObject({ ok: true, status: 'success', runId: p1.result.runId });
    expect(p5.pending).toEqual({ count: 0, nextDelayIn: null });

    const p6 = await pass(store, 'continue');
    expect(p6.ran).toEqual([]);
    expect(p6.result.status).toBe('success');
  });

  it("follows the seed's schedule in `start`: every step runs once, in order, and the last pass ends success", async () => {
    const lines: string[] = [];
    const passes = await main({
      store: tempStore(),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      write: (line) => lines.push(line),
    });

    expect(passes).toHaveLength(5);
    expect(passes[0]?.ran.map((e) => e.step)).toEqual(['s1']);
    expect(passes.flatMap((p) => p.ran.map((e) => e.step))).toEqual(['s1', 's2', 's3']);
    expect(passes.at(-1)?.result.status).toBe('success');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(
      /^pass 1 \(restart\) at \+\d+ ms: ran s1\[1\]; incomplete, next delay due in \d+ ms$/,
    );
  });
});
