// Hostile stores: a truncated or scribbled-over file, a file from a future schema, a read-only file
// and a full disk. Each must end in a typed error naming the cause (a StoreError), never in a raw
// SQLite error, a crash of the engine or a corrupt store; and once the cause is gone, the run goes on.
//
// Read-only and full disks are real file systems: a tmpfs mounted read-only (root ignores file modes,
// so chmod 0444 would not stop these tests when they run as root) and a 512 KB tmpfs. Mounting needs
// root (CAP_SYS_ADMIN); without it, the read-only tests use chmod (which binds a non-root user) and the
// full disk is simulated by a file size limit (ulimit -f) in a child process, which always runs too.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Eventor, type RunMode, StoreError } from '../src/index.js';
import { buildFillFlow } from './fixtures-hostile/fill.js';
import { type Sandbox, sandbox } from './helpers/sandbox.js';

const RUNS = Number(process.env.FLOW_FUZZ_RUNS ?? 25);
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const FILL_CHILD = fileURLToPath(new URL('./fixtures-hostile/fill-child.ts', import.meta.url));
const MIGRATIONS = fileURLToPath(new URL('../drizzle/sqlite', import.meta.url));
const IS_ROOT = process.getuid?.() === 0;

/** Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN), and why not. */
const MOUNT: { ok: boolean; reason?: string } = (() => {
  if (process.platform !== 'linux') return { ok: false, reason: 'tmpfs mounts need Linux' };
  const dir = mkdtempSync(join(tmpdir(), 'flow-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `mount -t tmpfs failed: ${String((error as Error).message).trim()}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
if (!MOUNT.ok) console.warn(`[hostile-store] no tmpfs mounts (${MOUNT.reason}); see the fallbacks below`);

/** A tmpfs of `size`; eventors given to `track` are closed before it is unmounted when the test ends. */
function mountTmpfs(size: string) {
  const dir = mkdtempSync(join(tmpdir(), 'flow-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  const eventors: Eventor[] = [];
  onTestFinished(() => {
    for (const ev of eventors) ev.close();
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    track<T extends Eventor>(ev: T): T {
      eventors.push(ev);
      return ev;
    },
    remount(options: string) {
      execFileSync('mount', ['-o', `remount,${options}`, dir], { stdio: 'pipe' });
    },
  };
}

/** Copies a store (and its WAL, where the data may still be) to `dir`, to look at it anywhere. */
function copyStore(store: string, dir: string, name = `copy-${Math.random().toString(36).slice(2)}.db`) {
  const copy = join(dir, name);
  copyFileSync(store, copy);
  if (existsSync(`${store}-wal`)) copyFileSync(`${store}-wal`, `${copy}-wal`);
  return copy;
}

/** PRAGMA integrity_check and the rows a test compares, read from a copy so nothing is written. */
function inspect(store: string, scratch: string) {
  const db = new Database(copyStore(store, scratch));
  try {
    return {
      integrity: db.pragma('integrity_check', { simple: true }) as string,
      runs: db.prepare('SELECT id, recovery FROM runs ORDER BY started_at').all(),
      tasks: db
        .prepare('SELECT step, sequence, recovery, status, attempts FROM tasks ORDER BY ord')
        .all() as Array<{
        step: string;
        sequence: string;
        recovery: number;
        status: string;
        attempts: number;
      }>,
    };
  } finally {
    db.close();
  }
}

/** What `fn` throws or rejects with (undefined when it does neither). */
async function failureOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** A store with something in it: finished, failed and delayed tasks over several pages. */
async function referenceStore(box: Sandbox): Promise<string> {
  const store = box.path('reference.run.db');
  const ev = new Eventor({ name: 'ref', store, logLevel: 'silent', config: { stopOnException: false } });
  defineReference(ev);
  const go = ev.addEvent('go');
  for (let i = 0; i < 40; i++) ev.triggerEvent(go, i);
  await ev.run({ maxLoops: 1 });
  ev.close();
  return store;
}

function defineReference(ev: Eventor) {
  const go = ev.addEvent('go');
  const done = ev.addEvent('done');
  const steps = [];
  for (let i = 0; i < 8; i++) {
    steps.push(
      ev.addStep(`r${i}`, {
        func: (n: number) => {
          if (n === 7) throw new Error('seven fails');
          return 'v'.repeat(300 + n);
        },
        args: [i],
        triggers: { success: done },
      }),
    );
  }
  ev.addAssoc(go, steps);
  ev.addAssoc(done, ev.addStep('later', { func: () => 'later' }), { delay: '1h' });
  return go;
}

/** Opens `store` in `runMode`, runs one pass and reads it back; every failure must be a StoreError. */
async function useStore(store: string, runMode: RunMode) {
  const error = await failureOf(async () => {
    const ev = new Eventor({ name: 'ref', store, runMode, logLevel: 'silent' });
    try {
      const go = defineReference(ev);
      ev.triggerEvent(go, 'new');
      await ev.run({ maxLoops: 1 });
      ev.tasks();
      ev.tasks({ limit: 10, offset: 5 });
      ev.pending();
    } finally {
      ev.close();
    }
  });
  return error;
}

function describeFailure(error: unknown): string {
  if (error === undefined) return 'none';
  const e = error as Error & { code?: string };
  return `${e.constructor?.name} ${e.code ?? ''}: ${e.message}`;
}

describe('a damaged store file', () => {
  it('refuses a truncated store with a StoreError, wherever it is cut', async () => {
    const box = sandbox('hostile-store');
    const reference = await referenceStore(box);
    const size = statSync(reference).size;
    const pageSize = 4096;
    let n = 0;
    const untyped: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: 1, max: size - 1 }),
          fc.integer({ min: 1, max: Math.floor(size / pageSize) - 1 }).map((page) => page * pageSize),
        ),
        fc.constantFrom<RunMode>('restart', 'continue', 'recover'),
        async (cut, runMode) => {
          const store = copyStore(reference, box.dir, `cut-${n++}.db`);
          truncateSync(store, cut);
          const error = await useStore(store, runMode);
          if (error !== undefined && !(error instanceof StoreError))
            untyped.push(`cut at ${cut} of ${size}, ${runMode}: ${describeFailure(error)}`);
          if (error instanceof StoreError) expect(error.message).toMatch(/malformed|not a database|corrupt/i);
        },
      ),
      {
        numRuns: RUNS,
        examples: [
          // cut to a byte: SQLite would take it for a new database and write a store over it
          [1, 'continue'],
          [1, 'restart'],
          [100, 'continue'],
          [pageSize, 'continue'],
          [size - pageSize, 'recover'],
          // cut inside the last pages: SQLite reads past the end (SQLITE_IOERR_SHORT_READ)
          [size - 100, 'continue'],
          [size - 2942, 'recover'],
        ],
      },
    );
    expect(untyped).toEqual([]);
  }, 60_000);

  it('says a store is corrupt, not that it has no run, when a damaged index hides its runs', async () => {
    const box = sandbox('hostile-store');
    const reference = await referenceStore(box);
    const store = copyStore(reference, box.dir, 'empty-index.db');
    const db = new Database(store);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const root = db
      .prepare("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND name = 'runs_name_started_idx'")
      .pluck()
      .get() as number;
    db.close();
    // the index's root becomes a valid, empty leaf page: SQLite reads it without error and finds nothing
    const page = Buffer.alloc(pageSize);
    page[0] = 0x0a;
    page.writeUInt16BE(pageSize % 65536, 5);
    const fd = openSync(store, 'r+');
    writeSync(fd, page, 0, pageSize, (root - 1) * pageSize);
    closeSync(fd);
    for (const runMode of ['recover', 'continue'] as const) {
      const error = await useStore(store, runMode);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).message).toMatch(/corrupt/);
      expect((error as StoreError).message).not.toMatch(/there is no run/);
    }
  });

  it('meets a store whose pages were scribbled over with a StoreError, never a raw SQLite error', async () => {
    const box = sandbox('hostile-store');
    const reference = await referenceStore(box);
    const bytes = readFileSync(reference);
    let n = 0;
    const untyped = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        // past the 100-byte header, which SQLite checks on open: the damage that shows up later
        fc.array(
          fc.tuple(fc.integer({ min: 100, max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 })),
          {
            minLength: 1,
            maxLength: 64,
          },
        ),
        fc.constantFrom<RunMode>('restart', 'continue'),
        async (scribbles, runMode) => {
          const damaged = Buffer.from(bytes);
          for (const [at, value] of scribbles) damaged[at] = value;
          const store = box.path(`scribbled-${n++}.db`);
          writeFileSync(store, damaged);
          const error = await useStore(store, runMode);
          if (error !== undefined && !(error instanceof StoreError))
            untyped.add(`${runMode}: ${describeFailure(error)}`);
        },
      ),
      { numRuns: RUNS * 2 },
    );
    expect([...untyped]).toEqual([]);
  }, 60_000);

  it('refuses a file that is not a store with a StoreError', async () => {
    const box = sandbox('hostile-store');
    writeFileSync(box.store, Buffer.alloc(64 * 1024, 0x5a));
    const error = await useStore(box.store, 'restart');
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/not a database/);
  });
});

describe('a store from a future schema', () => {
  it.each(['restart', 'continue', 'recover'] as RunMode[])(
    'is refused in %s mode with a StoreError, and left as it was',
    async (runMode) => {
      const box = sandbox('hostile-store');
      const store = await referenceStore(box);
      const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as {
        entries: Array<{ when: number }>;
      };
      const future = Math.max(...journal.entries.map((entry) => entry.when)) + 86_400_000;
      const raw = new Database(store);
      raw
        .prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)')
        .run('from-the-future', future);
      raw.close();
      const before = inspect(store, box.dir);

      const error = await useStore(store, runMode);

      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ code: 'FLOW_STORE_NEWER' });
      expect((error as StoreError).message).toMatch(/newer version of @flow\/eventor.*Upgrade/);
      expect(inspect(store, box.dir)).toEqual(before);
      expect(before.integrity).toBe('ok');
      const raw2 = new Database(store, { readonly: true });
      expect(
        raw2
          .prepare('SELECT count(*) FROM __drizzle_migrations WHERE hash = ?')
          .pluck()
          .get('from-the-future'),
      ).toBe(1);
      raw2.close();
    },
  );
});

/**
 * A folder whose store cannot be written by this process: a tmpfs remounted read-only when we may
 * mount (root ignores file modes), else file and folder modes (which bind a user that is not root).
 */
async function readOnlyStore(
  box: Sandbox,
): Promise<{ dir: string; store: string; how: string } | { skip: string }> {
  if (MOUNT.ok) {
    const mounted = mountTmpfs('8m');
    const store = join(mounted.dir, 'flow.run.db');
    copyFileSync(await referenceStore(box), store);
    mounted.remount('ro');
    return { dir: mounted.dir, store, how: 'a tmpfs remounted read-only' };
  }
  if (!IS_ROOT) {
    const dir = box.path('read-only');
    mkdirSync(dir);
    const store = join(dir, 'flow.run.db');
    copyFileSync(await referenceStore(box), store);
    chmodSync(store, 0o444);
    chmodSync(dir, 0o555);
    onTestFinished(() => chmodSync(dir, 0o755));
    return { dir, store, how: 'chmod 0444 (file) and 0555 (folder)' };
  }
  return { skip: `running as root without mount rights (${MOUNT.reason}): nothing denies root a write` };
}

describe('a read-only store', () => {
  it.each(['restart', 'continue', 'recover'] as RunMode[])(
    'is refused in %s mode with a StoreError that says it cannot be written',
    async (runMode) => {
      const box = sandbox('hostile-store');
      const target = await readOnlyStore(box);
      if ('skip' in target) {
        console.warn(`[hostile-store] read-only store test not run: ${target.skip}`);
        return;
      }
      expect(() => writeFileSync(join(target.dir, 'probe'), 'x'), `${target.how} must deny writes`).toThrow();
      const before = inspect(target.store, box.dir);

      const error = await useStore(target.store, runMode);

      expect(error, describeFailure(error)).toBeInstanceOf(StoreError);
      expect((error as StoreError).message).toMatch(/read-only|readonly|writable/i);
      expect(inspect(target.store, box.dir)).toEqual(before);
      expect(before.integrity).toBe('ok');
    },
  );

  it('refuses a new store in a read-only folder with a StoreError', async () => {
    const box = sandbox('hostile-store');
    const target = await readOnlyStore(box);
    if ('skip' in target) {
      console.warn(`[hostile-store] read-only folder test not run: ${target.skip}`);
      return;
    }
    const error = await useStore(join(target.dir, 'new.run.db'), 'restart');
    expect(error, describeFailure(error)).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/read-only|readonly|writable/i);
  });
});

/** Every (step, sequence) has exactly one success in the run's last recovery, and none twice anywhere. */
function expectEveryStepOnce(tasks: ReturnType<typeof inspect>['tasks'], sequences: number, steps = 10) {
  const last = Math.max(...tasks.map((t) => t.recovery));
  const final = tasks.filter((t) => t.recovery === last);
  expect(final.filter((t) => t.status === 'success')).toHaveLength(sequences * steps);
  const successes = new Map<string, number>();
  for (const t of tasks.filter((t) => t.status === 'success' && t.attempts > 0)) {
    const key = `${t.recovery} ${t.step} ${t.sequence}`;
    successes.set(key, (successes.get(key) ?? 0) + 1);
  }
  expect([...successes.values()].every((count) => count === 1)).toBe(true);
}

describe('a full disk', () => {
  it.skipIf(!MOUNT.ok)(
    'stops the run with a StoreError that says the disk is full; after room is made, recover finishes it',
    async () => {
      const box = sandbox('hostile-store');
      const disk = mountTmpfs('512k');
      const store = join(disk.dir, 'flow.run.db');
      const sequences = 5;
      const first = buildFillFlow({ store });
      disk.track(first.ev);
      for (let i = 1; i <= sequences; i++) first.ev.triggerEvent(first.go, i);

      const error = await failureOf(() => first.ev.run());

      // soft: the rest of the test (integrity, recover) says more when the error has the wrong type
      expect.soft(error, describeFailure(error)).toBeInstanceOf(StoreError);
      expect.soft((error as Error).message).toMatch(/full|no space/i);
      expect(() => first.ev.close()).not.toThrow();
      const after = inspect(store, box.dir);
      expect(after.integrity).toBe('ok');

      disk.remount('size=32m');
      const again = buildFillFlow({ store, runMode: 'recover' });
      disk.track(again.ev);
      for (let i = 1; i <= sequences; i++) again.ev.triggerEvent(again.go, i);
      expect(await again.ev.run()).toMatchObject({ ok: true, status: 'success' });
      again.ev.close();
      const final = inspect(store, box.dir);
      expect(final.integrity).toBe('ok');
      expectEveryStepOnce(final.tasks, sequences);
    },
  );

  it.skipIf(!MOUNT.ok)(
    'goes on after a full disk without losing what was committed (the same Eventor, run() again)',
    async () => {
      const box = sandbox('hostile-store');
      const disk = mountTmpfs('512k');
      const store = join(disk.dir, 'flow.run.db');
      const flow = buildFillFlow({ store });
      disk.track(flow.ev);
      for (let i = 1; i <= 5; i++) flow.ev.triggerEvent(flow.go, i);
      const error = await failureOf(() => flow.ev.run());
      expect(error, 'the run met the full disk').toBeDefined();

      disk.remount('size=32m');
      const outcome = await failureOf(() => flow.ev.run());
      expect(outcome, describeFailure(outcome)).toBeUndefined();
      flow.ev.close();
      const final = inspect(store, box.dir);
      expect(final.integrity).toBe('ok');
      expect(final.tasks.filter((t) => t.status === 'success')).toHaveLength(50);
    },
  );

  it.skipIf(!MOUNT.ok)('refuses to open a store on a disk with no room left, with a StoreError', async () => {
    const disk = mountTmpfs('256k');
    // fill the disk to the last block
    try {
      writeFileSync(join(disk.dir, 'filler'), Buffer.alloc(512 * 1024));
    } catch {
      // ENOSPC: it is full now
    }
    const error = await failureOf(() =>
      disk.track(new Eventor({ name: 'full', store: join(disk.dir, 'flow.run.db') })),
    );
    expect(error, describeFailure(error)).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/full|no space|disk/i);
  });

  it('stops a run whose store hits the file size limit (ulimit -f) with a StoreError, not a signal; recover then finishes it', async () => {
    const box = sandbox('hostile-store');
    const sequences = 5;
    // 512 blocks of 1 KB: the WAL outgrows it while the steps' results are written
    const child = spawnSync(
      'bash',
      [
        '-c',
        `ulimit -f 512 && exec "${process.execPath}" --import tsx "${FILL_CHILD}" "${box.store}" ${sequences}`,
      ],
      { cwd: PACKAGE_ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(child.signal, `the child was killed: ${child.stderr}`).toBeNull();
    const report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(report, child.stderr).toMatchObject({ ended: 'error' });
    expect.soft(report, 'a StoreError').toMatchObject({ storeError: true });
    expect.soft(report.message).toMatch(/disk I\/O|file size|too large|full/i);
    expect(inspect(box.store, box.dir).integrity).toBe('ok');

    const again = buildFillFlow({ store: box.store, runMode: 'recover' });
    box.track(again.ev);
    for (let i = 1; i <= sequences; i++) again.ev.triggerEvent(again.go, i);
    expect(await again.ev.run()).toMatchObject({ ok: true, status: 'success' });
    again.ev.close();
    const final = inspect(box.store, box.dir);
    expect(final.integrity).toBe('ok');
    expectEveryStepOnce(final.tasks, sequences);
  }, 60_000);

  it('keeps the engine healthy: after the hostile stores, a fresh store runs a flow', async () => {
    const box = sandbox('hostile-store');
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('fine', { func: () => 'fine' }));
    ev.triggerEvent(go);
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
  });
});
