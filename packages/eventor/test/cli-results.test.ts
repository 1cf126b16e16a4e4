import Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { describe, expect, it } from 'vitest';
import { eventor, KINDS, resultsFlow } from './fixtures/results-flow.js';
import { assertBuilt, eventorOk } from './fixtures-cli/cli.js';
import { sandbox } from './helpers/sandbox.js';

/** A store as a version before results were stored with v8 left it: migrations 0000 and 0001 only. */
function oldStoreWithJsonResult(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(
    'CREATE TABLE "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)',
  );
  const migrations = readMigrationFiles({
    migrationsFolder: new URL('../drizzle/sqlite', import.meta.url).pathname,
  });
  for (const migration of migrations.slice(0, 2)) {
    for (const statement of migration.sql) db.exec(statement);
    db.prepare('INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)').run(
      migration.hash,
      migration.folderMillis,
    );
  }
  db.prepare(
    `INSERT INTO runs (id, name, mode, recovery, status, started_at, updated_at) VALUES ('old', 'test', 'restart', 0, 'failure', 1, 2)`,
  ).run();
  db.prepare(
    `INSERT INTO tasks (run_id, ord, step, sequence, recovery, status, attempts, result, skipped, created_at, updated_at)
     VALUES ('old', 1, 'make', '0', 0, 'success', 1, '{"rows":3,"when":"2025-05-05T00:00:00.000Z"}', 0, 1, 2),
            ('old', 2, 'check', '0', 0, 'failure', 1, NULL, 0, 1, 2)`,
  ).run();
  db.close();
}

describe('a store written before results were stored with v8', () => {
  it('still reads its JSON results, in tasks(), in a recovery that skips the step, and in eventor show --json', async () => {
    const box = sandbox('results');
    oldStoreWithJsonResult(box.store);
    const old = { rows: 3, when: '2025-05-05T00:00:00.000Z' };
    assertBuilt();
    // the command reads a store as it is: no engine of this version has migrated it yet
    const before = JSON.parse(eventorOk('show', box.store, 'old', '--json', '--step', 'make')) as Array<{
      result: unknown;
    }>;
    expect(before.map((task) => task.result)).toEqual([old]);
    let handed: unknown;
    const ev = eventor(box, { runMode: 'recover' });
    const go = ev.addEvent('go');
    const made = ev.addEvent('made');
    ev.addAssoc(go, ev.addStep('make', { func: () => ({ rows: 0 }), triggers: { success: [made] } }));
    ev.addAssoc(
      made,
      ev.addStep('check', {
        func: () => {
          handed = ev.tasks({ step: 'make', recovery: ev.recovery })[0]?.result;
        },
      }),
    );
    ev.triggerEvent(go);
    expect(await ev.run()).toMatchObject({ ok: true, runId: 'old', recovery: 1 });

    expect(ev.tasks({ step: 'make' }).map((task) => [task.recovery, task.skipped, task.result])).toEqual([
      [0, false, old],
      [1, true, old],
    ]);
    expect(handed).toEqual(old);
    ev.close();
    assertBuilt();
    const shown = JSON.parse(eventorOk('show', box.store, 'old', '--json', '--step', 'make')) as Array<{
      result: unknown;
    }>;
    expect(shown.map((task) => task.result)).toEqual([old, old]);
  });
});

describe('eventor show --json', () => {
  it('prints results JSON has no form for as tagged values', async () => {
    const box = sandbox('results');
    const ev = eventor(box);
    ev.triggerEvent(resultsFlow(ev, 'inline', KINDS));
    await ev.run();
    const runId = ev.runId;
    ev.close();
    assertBuilt();
    const shown = JSON.parse(eventorOk('show', box.store, runId, '--json')) as Array<{
      step: string;
      result?: unknown;
    }>;
    const byStep = Object.fromEntries(shown.map((task) => [task.step, task.result]));

    expect(byStep).toEqual({
      date: '2026-01-02T03:04:05.006Z',
      map: {
        $map: [
          ['a', 1],
          [2, { b: [3] }],
        ],
      },
      set: { $set: [1, 'two', { $bigint: '3' }] },
      bigint: { $bigint: '12345678901234567890' },
      regexp: { $regexp: '/a+b/gi' },
      bytes: [0, 1, 254, 255],
      undefined: { list: [null, 1] },
      nan: { $number: 'NaN' },
      numbers: { nan: { $number: 'NaN' }, negativeZero: 0, infinity: { $number: '-Infinity' } },
      circular: {
        name: 'root',
        left: { name: 'shared' },
        right: { name: 'shared' },
        self: { $ref: '$' },
        list: [{ $ref: '$' }],
      },
    });
  });
});
