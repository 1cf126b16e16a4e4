import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import { Eventor, FlowConfigError, FlowError, StoreError } from '../src/index.js';
import { buildHoldFlow } from './fixtures-core/flows.mjs';
import { assertDistIsCurrent } from './helpers/child.js';
import { sandbox } from './helpers/sandbox.js';

const MIGRATIONS = fileURLToPath(new URL('../drizzle/sqlite', import.meta.url));
const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as {
  entries: Array<{ tag: string; when: number }>;
};

/** What `fn` throws (fails the test when it throws nothing). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, but nothing was thrown');
}

function openRaw(path: string) {
  return new Database(path, { fileMustExist: true });
}

describe('store file', () => {
  it('creates the file and applies every shipped migration on open', () => {
    const box = sandbox();
    box.eventor().close();

    const db = openRaw(box.store);
    try {
      const applied = db.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get();
      expect(applied).toBe(journal.entries.length);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
      expect(tables).toEqual(expect.arrayContaining(['runs', 'tasks', 'triggers', 'delays']));
    } finally {
      db.close();
    }
  });

  it('uses WAL journaling', () => {
    const box = sandbox();
    box.eventor().close();

    const db = openRaw(box.store);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('applies pending migrations to a store written by an older version, keeping its runs', async () => {
    const box = sandbox();
    // the migrations of an older version: all but the newest one
    const older = box.path('older-migrations');
    mkdirSync(join(older, 'meta'), { recursive: true });
    const olderEntries = journal.entries.slice(0, -1);
    for (const entry of olderEntries)
      copyFileSync(join(MIGRATIONS, `${entry.tag}.sql`), join(older, `${entry.tag}.sql`));
    writeFileSync(
      join(older, 'meta', '_journal.json'),
      JSON.stringify({ ...journal, entries: olderEntries }),
    );
    const raw = new Database(box.store);
    if (olderEntries.length > 0) migrate(drizzle(raw), { migrationsFolder: older });
    raw.close();

    const first = buildHoldFlow(lib, { store: box.store, runId: 'kept' });
    box.track(first);
    expect((await first.run()).status).toBe('success');
    first.close();
    const again = box.track(buildHoldFlow(lib, { store: box.store, runId: 'kept', runMode: 'recover' }));
    expect(await again.run()).toMatchObject({ runId: 'kept', recovery: 1, status: 'success' });
    again.close();

    const db = openRaw(box.store);
    try {
      expect(db.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get()).toBe(
        journal.entries.length,
      );
    } finally {
      db.close();
    }
  });

  it('refuses a store written by a newer schema with StoreError', () => {
    const box = sandbox();
    box.eventor().close();
    const newest = Math.max(...journal.entries.map((entry) => entry.when));
    const db = openRaw(box.store);
    db.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run(
      'from-the-future',
      newest + 86_400_000,
    );
    db.close();

    const error = thrownBy(() => box.eventor());
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toContain(box.store);
    expect((error as StoreError).message).toMatch(/newer/);
    expect((error as StoreError).code).toBe('FLOW_STORE_NEWER');
  });

  it('throws StoreError naming the path when the folder does not exist', () => {
    const box = sandbox();
    const store = box.path('no/such/folder/flow.run.db');

    expect(() => new Eventor({ name: 'test', store })).toThrow(StoreError);
    expect(() => new Eventor({ name: 'test', store })).toThrow(store);
  });

  it('throws StoreError naming the path when the path is a folder', () => {
    const box = sandbox();
    const store = box.path('a-folder');
    mkdirSync(store);

    expect(() => new Eventor({ name: 'test', store })).toThrow(StoreError);
    expect(() => new Eventor({ name: 'test', store })).toThrow(store);
  });

  it('throws StoreError naming the path when the file is not a SQLite database', () => {
    const box = sandbox();
    const store = box.path('garbage.run.db');
    writeFileSync(store, 'this is not a database\n'.repeat(200));

    const error = thrownBy(() => new Eventor({ name: 'test', store }));
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toBeInstanceOf(FlowError);
    expect((error as Error).message).toContain(store);
    expect((error as Error).cause).toBeDefined();
    // the file is left as it was
    expect(readFileSync(store, 'utf8')).toBe('this is not a database\n'.repeat(200));
  });

  it('defaults the name to the entry script and the store to <cwd>/<name>.run.db', () => {
    const box = sandbox();
    assertDistIsCurrent();
    const dist = pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href;
    const script = box.path('nightly.mjs');
    writeFileSync(
      script,
      `import { Eventor } from ${JSON.stringify(dist)};\n` +
        `const ev = new Eventor({ logLevel: 'silent' });\n` +
        `const go = ev.addEvent('go');\n` +
        `ev.addAssoc(go, ev.addStep('s'));\n` +
        `ev.triggerEvent(go);\n` +
        `const result = await ev.run();\n` +
        `ev.close();\n` +
        `console.log(JSON.stringify({ name: ev.name, status: result.status }));\n`,
    );
    const cwd = box.path('work');
    mkdirSync(cwd);

    const out = execFileSync(process.execPath, [script], { cwd, encoding: 'utf8' });

    expect(JSON.parse(out)).toEqual({ name: 'nightly', status: 'success' });
    expect(existsSync(join(cwd, 'nightly.run.db'))).toBe(true);
  });

  it("runs a flow on ':memory:' but refuses to recover or continue one", async () => {
    const box = sandbox();
    const ev = box.track(buildHoldFlow(lib, { store: ':memory:' }));
    expect((await ev.run()).status).toBe('success');

    expect(() => new Eventor({ name: 'test', store: ':memory:', runMode: 'recover' })).toThrow(
      FlowConfigError,
    );
    expect(() => new Eventor({ name: 'test', store: ':memory:', runMode: 'continue' })).toThrow(/:memory:/);
  });
});
