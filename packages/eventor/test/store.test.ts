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
import { buildChainFlow, buildHoldFlow } from './fixtures-core/flows.mjs';
import { assertDistIsCurrent, FlowChild } from './helpers/child.js';
import { deferred, sandbox } from './helpers/sandbox.js';

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

  it('keeps state across Eventor objects: a reopened store lists the tasks of earlier runs', async () => {
    const box = sandbox();
    const first = box.track(buildHoldFlow(lib, { store: box.store, runId: 'r1' }));
    await first.run();
    first.close();

    const reopened = box.track(buildHoldFlow(lib, { store: box.store, runId: 'r1', runMode: 'continue' }));
    expect(reopened.tasks().map((t) => [t.step, t.status, t.result])).toEqual([['hold', 'success', 'held']]);
  });
});

describe('run lease', () => {
  it('refuses a second Eventor object in this process on a run that another object is running', async () => {
    const box = sandbox();
    const hold = deferred();
    const live = box.track(buildHoldFlow(lib, { store: box.store, runId: 'busy', hold: () => hold.promise }));
    const running = live.run();

    const second = box.eventor({ runId: 'busy', runMode: 'continue' });
    const error = thrownBy(() => second.runId);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain(`pid ${process.pid}`);

    hold.resolve();
    expect((await running).status).toBe('success');
    live.close();
    const after = box.track(buildHoldFlow(lib, { store: box.store, runId: 'busy', runMode: 'continue' }));
    expect((await after.run()).status).toBe('success');
  });

  it('does not hold a finished run: reading tasks() and pending() afterwards does not block a recover', async () => {
    const box = sandbox();
    const first = box.track(buildHoldFlow(lib, { store: box.store, runId: 'finished' }));
    expect((await first.run()).status).toBe('success');
    expect(first.tasks()).toHaveLength(1);
    expect(first.pending().count).toBe(0);

    // `first` stays open, as in a long-lived process that reports on its runs
    const recover = box.track(
      buildHoldFlow(lib, { store: box.store, runId: 'finished', runMode: 'recover' }),
    );
    expect(await recover.run()).toMatchObject({ status: 'success', recovery: 1 });
  });

  it("refuses to recover a run that a live child process holds, naming the child's pid, and recovers it once the child exits", async () => {
    const box = sandbox();
    const child = new FlowChild(['hold', box.store, 'held-run']);
    await child.next('holding');

    const attempt = box.eventor({ runId: 'held-run', runMode: 'recover' });
    const error = thrownBy(() => attempt.runId);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain(`pid ${child.pid}`);
    expect((error as Error).message).toContain('held-run');

    child.send({ type: 'release' });
    const done = await child.next('done');
    expect(done.result).toMatchObject({ status: 'success', runId: 'held-run' });
    expect((await child.exited).code).toBe(0);

    const recovered = box.track(
      buildHoldFlow(lib, { store: box.store, runId: 'held-run', runMode: 'recover' }),
    );
    expect(await recovered.run()).toMatchObject({ status: 'success', recovery: 1 });
    expect(recovered.tasks({ recovery: 1 })[0]).toMatchObject({ step: 'hold', skipped: true });
  });

  it('lets a run be recovered at once after its process was killed with SIGKILL', async () => {
    const box = sandbox();
    const child = new FlowChild(['hold', box.store, 'killed-run']);
    await child.next('holding');
    await child.kill();

    const recovered = box.track(
      buildHoldFlow(lib, { store: box.store, runId: 'killed-run', runMode: 'recover' }),
    );
    const result = await recovered.run();

    expect(result).toMatchObject({ status: 'success', runId: 'killed-run', recovery: 1 });
    expect(recovered.tasks().map((t) => `${t.step}/${t.recovery}/${t.status}`)).toEqual([
      'hold/0/active',
      'hold/1/success',
    ]);
  });

  it('lets another run in the same file go on while a child process holds its own run', async () => {
    const box = sandbox();
    const child = new FlowChild(['hold', box.store, 'child-run']);
    await child.next('holding');

    const mine = box.track(buildHoldFlow(lib, { store: box.store, runId: 'parent-run' }));
    const result = await mine.run();
    child.send({ type: 'release' });
    const done = await child.next('done');

    expect(result).toMatchObject({ status: 'success', runId: 'parent-run' });
    expect(done.result).toMatchObject({ status: 'success', runId: 'child-run' });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'ends the run recoverable on %s with handleSignals: true, and a recover reruns the stopped step',
    async (signal) => {
      const box = sandbox();
      const child = new FlowChild(['signal', box.store, 'signalled']);
      await child.next('holding');
      child.process.kill(signal);
      const done = await child.next('done');
      expect((await child.exited).code).toBe(0);

      expect(done.result).toMatchObject({ ok: false, status: 'failure', runId: 'signalled' });
      expect(done.tasks).toEqual([
        { step: 'hold', status: 'failure', error: expect.stringContaining(signal) },
      ]);

      const recovered = box.track(
        buildHoldFlow(lib, { store: box.store, runId: 'signalled', runMode: 'recover' }),
      );
      expect(await recovered.run()).toMatchObject({ status: 'success', recovery: 1 });
      expect(recovered.tasks({ recovery: 1 })[0]).toMatchObject({
        step: 'hold',
        skipped: false,
        result: 'held',
      });
    },
  );
});

describe('one store file, two processes', () => {
  it('runs two busy runs side by side, one in a child process, without a busy or locked error', async () => {
    const box = sandbox();
    const child = new FlowChild(['chain', box.store, 'child-chain', '300']);
    await child.next('ready');
    const mine = box.track(buildChainFlow(lib, { store: box.store, runId: 'parent-chain', length: 300 }));

    child.send({ type: 'go' });
    const [result, done] = await Promise.all([mine.run(), child.next('done', 60_000)]);

    expect(result).toMatchObject({ status: 'success', runId: 'parent-chain' });
    expect(mine.tasks({ status: 'success' })).toHaveLength(300);
    expect(done.result).toMatchObject({ status: 'success', runId: 'child-chain' });
    expect(done.tasks).toBe(300);
  });
});
