import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { beforeAll, describe, expect, it } from 'vitest';
import { Eventor } from '../../src/index.js';
import { assertBuilt, eventorOk, parseTable, tempDir } from '../fixtures-cli/cli.js';
import { buildReleaseFlow } from './fixtures/release-store.mjs';

// made by the release at commit 939bce2 (see fixtures/release-store.mjs): `square` succeeded, `divide` failed
const FIXTURE = fileURLToPath(new URL('./fixtures/release-939bce2.db', import.meta.url));
const MIGRATIONS = fileURLToPath(new URL('../../drizzle/sqlite', import.meta.url));

/** A copy of the fixture to write to (the committed file stays as the release left it). */
function releaseStore(): string {
  const path = join(tempDir(), 'release.run.db');
  copyFileSync(FIXTURE, path);
  return path;
}

function appliedMigrations(path: string): Array<{ hash: string; created_at: number }> {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare('SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at')
      .all() as Array<{
      hash: string;
      created_at: number;
    }>;
  } finally {
    db.close();
  }
}

beforeAll(() => assertBuilt());

describe('a store file made by the release before the store rebuild (939bce2)', () => {
  it('records as applied exactly the migrations this package ships under the same hash and time', () => {
    const recorded = appliedMigrations(releaseStore());
    const shipped = readMigrationFiles({ migrationsFolder: MIGRATIONS });
    expect(recorded).toHaveLength(3); // that release shipped 0000..0002
    expect(recorded).toEqual(
      shipped.slice(0, recorded.length).map((m) => ({ hash: m.hash, created_at: m.folderMillis })),
    );
  });

  it('opens with today’s code, which adds the newer migrations and keeps the recorded ones', async () => {
    const store = releaseStore();
    const ev = new Eventor({ name: 'release', store, runMode: 'continue', logLevel: 'silent' });
    expect(ev.runId).toBe('r-939bce2');
    ev.close();
    const shipped = readMigrationFiles({ migrationsFolder: MIGRATIONS });
    expect(appliedMigrations(store)).toEqual(
      shipped.map((m) => ({ hash: m.hash, created_at: m.folderMillis })),
    );
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    expect(shipped).toHaveLength(journal.entries.length);
  });

  it('recovers: skips the success, reruns the failure, and the CLI reads the result', async () => {
    const store = releaseStore();
    const calls: string[] = [];
    const { ev } = buildReleaseFlow(
      Eventor,
      { store, runMode: 'recover', runId: 'r-939bce2' },
      { divideFails: false, calls },
    );
    const result = await ev.run();
    expect(result).toEqual({ ok: true, status: 'success', runId: 'r-939bce2', recovery: 1 });
    expect(calls).toEqual(['divide']);
    const recovery1 = ev.tasks({ recovery: 1 });
    expect(recovery1.map((t) => [t.step, t.status, t.skipped, t.result])).toEqual([
      ['square', 'success', true, 9],
      ['divide', 'success', false, 9],
    ]);
    const first = ev.tasks({ recovery: 0 });
    expect(first.map((t) => [t.step, t.status, t.error?.message ?? null])).toEqual([
      ['square', 'success', null],
      ['divide', 'failure', expect.stringContaining('cannot divide by zero')],
    ]);
    ev.close();

    const [row] = parseTable(eventorOk('runs', store));
    expect(row).toMatchObject({
      RUN: 'r-939bce2',
      NAME: 'release',
      MODE: 'recover',
      RECOVERY: '1',
      STATUS: 'success',
      SUCCESS: '1', // skipped ones apart
      FAILURE: '0',
      SKIPPED: '1',
    });
    const shown = JSON.parse(eventorOk('show', store, 'r-939bce2', '--json')) as Array<{
      step: string;
      recovery: number;
      status: string;
      skipped: boolean;
      result?: unknown;
    }>;
    expect(shown.map((t) => [t.step, t.recovery, t.status, t.skipped, t.result])).toEqual([
      ['square', 0, 'success', false, 9],
      ['divide', 0, 'failure', false, undefined],
      ['square', 1, 'success', true, 9],
      ['divide', 1, 'success', false, 9],
    ]);
  });

  it('keeps the flow shape the release stored: eventor graph draws it before and after the store is migrated', async () => {
    const store = releaseStore();
    const before = eventorOk('graph', store, 'r-939bce2');
    for (const name of ['square', 'divide']) expect(before).toContain(name);

    const { ev } = buildReleaseFlow(
      Eventor,
      { store, runMode: 'recover', runId: 'r-939bce2' },
      { divideFails: false, calls: [] },
    );
    await ev.run(); // migrates the store: the shape moves from the run row to run_shapes
    ev.close();
    // the same events, steps and edges; only the statuses moved on with the recovery
    const structure = (graph: string) =>
      graph
        .split('\n')
        .filter((line) => !/^\s*class(Def)? /.test(line))
        .map((line) => line.replace(/<br\/>\w+/, ''));
    expect(structure(eventorOk('graph', store, 'r-939bce2'))).toEqual(structure(before));
  });
});
