import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { and, asc, eq } from 'drizzle-orm';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { type MigrationMeta, readMigrationFiles } from 'drizzle-orm/migrator';
import { FlowError, StoreError } from '../errors.js';
import type { TaskStatus } from '../model/status.js';
import { getRun, latestRun, leaseHolderAlive, refuseNewerSchema } from './queries.js';
import { resultBytes } from './result-codec.js';
import * as schema from './schema.js';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

export type RunRow = typeof schema.runs.$inferSelect;

/** A task row as stored, with its status typed. */
export type TaskRow = Omit<typeof schema.tasks.$inferSelect, 'status'> & { status: TaskStatus };

/** The running step whose body fired a trigger. */
export interface TriggerSource {
  step: string;
  sequence: string;
}

/** A task's primary key: its run and its creation order in the run. */
export interface TaskKey {
  runId: string;
  ord: number;
}

export interface DelayRow {
  id: number;
  assoc: string;
  sequence: string;
  dueAt: number;
}

export interface TaskQuery {
  status?: TaskStatus;
  step?: string;
  recovery?: number;
  limit?: number;
  offset?: number;
}

/**
 * Fault injection for crash tests: `FLOW_FAULT_KILL=after:N` kills this process with SIGKILL right
 * after the N-th committed transaction of the process, `inside:N` inside it, before it commits.
 * Read once; unset in normal use, where it costs one comparison per transaction.
 */
const FAULT_KILL = parseFaultKill(process.env.FLOW_FAULT_KILL);
let transactionsBegun = 0;

function parseFaultKill(value: string | undefined): { when: 'after' | 'inside'; at: number } | undefined {
  const match = value === undefined ? null : /^(after|inside):(\d+)$/.exec(value);
  return match ? { when: match[1] as 'after' | 'inside', at: Number(match[2]) } : undefined;
}

/** The `busyTimeout` Eventor option's default. */
export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;
const MAX_BUSY_TIMEOUT_MS = 2 ** 31 - 1;

/** Leases held by live Eventor objects of this process, so two objects cannot drive one run. */
const leasesHeldHere = new Set<string>();

/**
 * The run store: one SQLite file in WAL mode. Every query the engine makes lives here. Hot-path
 * writes use prepared statements; everything else goes through drizzle.
 */
export class Store {
  readonly path: string;
  /** How long a write waits for another process's write lock before it fails (the `busyTimeout` option). */
  readonly busyTimeoutMs: number;
  private readonly sqlite: Database.Database;
  private readonly db: BetterSQLite3Database<typeof schema>;
  private closed = false;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly inTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly triggerOrds = new Map<string, number>();
  private readonly taskOrds = new Map<string, number>();

  private constructor(path: string, sqlite: Database.Database, busyTimeoutMs: number) {
    this.path = path;
    this.busyTimeoutMs = busyTimeoutMs;
    this.sqlite = sqlite;
    this.db = drizzle(sqlite, { schema });
    this.stmt = prepareStatements(sqlite);
    this.inTransaction = sqlite.transaction((fn: () => unknown) => fn());
  }

  /**
   * Opens (creating if needed) the store at `path`, applies pending migrations, refuses newer ones.
   * Several processes may open one file at once, a new one included: see {@link applyMigrations}.
   */
  static open(path: string, options: { busyTimeoutMs?: number | undefined } = {}): Store {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    let sqlite: Database.Database;
    try {
      sqlite = new Database(path);
    } catch (cause) {
      const native = nativeModuleProblem(cause);
      if (native !== undefined) {
        throw new StoreError(`Cannot open the store at "${path}": ${native}`, {
          cause,
          code: 'FLOW_STORE_NATIVE',
        });
      }
      throw new StoreError(
        `Cannot open the store at "${path}": ${(cause as Error).message}. ` +
          `Check that the folder exists and is writable, or pass another \`store\` path.`,
        { cause, code: 'FLOW_STORE_OPEN' },
      );
    }
    try {
      // SQLite takes a 32-bit count of milliseconds; anything longer is as good as forever
      sqlite.pragma(`busy_timeout = ${Math.min(Math.round(busyTimeoutMs), MAX_BUSY_TIMEOUT_MS)}`);
      if (path !== ':memory:') switchToWal(sqlite, busyTimeoutMs);
      sqlite.pragma('synchronous = NORMAL');
      applyMigrations(sqlite, path);
      return new Store(path, sqlite, busyTimeoutMs);
    } catch (cause) {
      sqlite.close();
      if (cause instanceof StoreError) throw cause;
      if (isBusy(cause)) throw asStoreError(cause, path, busyTimeoutMs);
      throw new StoreError(
        `Cannot use the store at "${path}": ${(cause as Error).message}. ` +
          `Is it an eventor store file (SQLite), readable and writable? Pass another \`store\` path to start afresh.`,
        { cause, code: 'FLOW_STORE_OPEN' },
      );
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sqlite.close();
  }

  /** Runs `fn` in one transaction (IMMEDIATE, so two processes never interleave their writes). */
  transaction<T>(fn: () => T): T {
    if (FAULT_KILL === undefined) return this.inTransaction.immediate(fn) as T;
    const number = ++transactionsBegun;
    const kill = number === FAULT_KILL.at ? () => process.kill(process.pid, 'SIGKILL') : undefined;
    const result = this.inTransaction.immediate(() => {
      const value = fn();
      if (FAULT_KILL.when === 'inside') kill?.();
      return value;
    }) as T;
    if (FAULT_KILL.when === 'after') kill?.();
    return result;
  }

  // ---- runs -------------------------------------------------------------------------------------

  createRun(run: { id: string; name: string; mode: string; now: number }): void {
    this.db
      .insert(schema.runs)
      .values({
        id: run.id,
        name: run.name,
        mode: run.mode,
        recovery: 0,
        status: 'running',
        startedAt: run.now,
        updatedAt: run.now,
      })
      .run();
  }

  getRun(id: string): RunRow | undefined {
    return getRun(this.db, id);
  }

  /** The run most recently started, optionally restricted to one flow name. */
  latestRun(name?: string): RunRow | undefined {
    return latestRun(this.db, name);
  }

  /**
   * What SQLite's integrity check finds wrong with the file, or undefined when it is sound. For
   * error paths only (it reads the whole file): a damaged index can hide rows instead of failing.
   */
  damage(): string | undefined {
    try {
      const rows = this.sqlite.prepare('PRAGMA integrity_check(3)').pluck().all() as string[];
      return rows.length === 1 && rows[0] === 'ok' ? undefined : rows.join('; ');
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** The flow names the store has runs of, sorted. */
  flowNames(): string[] {
    return this.db
      .selectDistinct({ name: schema.runs.name })
      .from(schema.runs)
      .orderBy(asc(schema.runs.name))
      .all()
      .map((row) => row.name);
  }

  listRuns(): RunRow[] {
    return this.db.select().from(schema.runs).orderBy(asc(schema.runs.startedAt)).all();
  }

  updateRun(
    id: string,
    fields: Partial<Pick<RunRow, 'mode' | 'recovery' | 'status' | 'endedAt' | 'shape'>>,
    now: number,
  ): void {
    this.db
      .update(schema.runs)
      .set({ ...fields, updatedAt: now })
      .where(eq(schema.runs.id, id))
      .run();
  }

  /**
   * Takes the run's lease for this process, or throws StoreError naming the live holder. A lease
   * whose holder process is gone lapses at once, so a killed run can be recovered straight away.
   * `check` sees the run row in the same transaction and may refuse by throwing.
   */
  acquireLease(runId: string, token: string, check?: (run: RunRow) => void): void {
    const host = hostname();
    this.transaction(() => {
      const run = this.getRun(runId);
      if (!run) throw new StoreError(`Run "${runId}" is not in the store at "${this.path}".`);
      if (run.leaseToken && run.leaseToken !== token && leaseHolderAlive(run, leasesHeldHere)) {
        throw new StoreError(
          `Run "${runId}" in "${this.path}" is in use by a live process (pid ${run.leasePid} on ${run.leaseHost}). ` +
            `Wait for it to finish or stop it, then recover or continue; or start a new run with runMode 'restart'.`,
          { code: 'FLOW_STORE_IN_USE' },
        );
      }
      check?.(run);
      this.db
        .update(schema.runs)
        .set({ leasePid: process.pid, leaseHost: host, leaseToken: token })
        .where(eq(schema.runs.id, runId))
        .run();
    });
    leasesHeldHere.add(token);
  }

  /** The token stays as the last holder's: a holder taking the lease again can tell that another drove the run since. */
  releaseLease(runId: string, token: string): void {
    leasesHeldHere.delete(token);
    if (this.closed) return;
    this.db
      .update(schema.runs)
      .set({ leasePid: null, leaseHost: null })
      .where(and(eq(schema.runs.id, runId), eq(schema.runs.leaseToken, token)))
      .run();
  }

  // ---- triggers ---------------------------------------------------------------------------------

  /** Records that `event` fired; false when it had already fired in that sequence and recovery. */
  insertTrigger(
    runId: string,
    recovery: number,
    event: string,
    sequence: string,
    acted: boolean,
    now: number,
    source?: TriggerSource,
  ) {
    const ord = this.nextOrd(this.triggerOrds, runId, this.stmt.maxTriggerOrd);
    const inserted =
      this.stmt.insertTrigger.run(
        runId,
        recovery,
        sequence,
        event,
        ord,
        acted ? 1 : 0,
        now,
        source?.step ?? null,
        source?.sequence ?? null,
      ).changes > 0;
    if (inserted) this.triggerOrds.set(runId, ord);
    return inserted;
  }

  /** Events that a step's body fired (with triggerEvent) in a recovery, in the order they fired. */
  triggersFiredBy(
    runId: string,
    source: TriggerSource,
    recovery: number,
  ): Array<{ event: string; sequence: string }> {
    return this.stmt.triggersFiredBy.all(runId, source.step, source.sequence, recovery) as Array<{
      event: string;
      sequence: string;
    }>;
  }

  markTriggerActed(runId: string, recovery: number, event: string, sequence: string): void {
    this.stmt.markTriggerActed.run(runId, recovery, sequence, event);
  }

  hasFired(runId: string, recovery: number, event: string, sequence: string): boolean {
    return this.stmt.hasFired.get(runId, recovery, sequence, event) !== undefined;
  }

  /** True when any event fired in this recovery of the run. */
  hasTriggers(runId: string, recovery: number): boolean {
    return this.stmt.anyTrigger.get(runId, recovery) !== undefined;
  }

  unactedTriggers(runId: string, recovery: number): Array<{ event: string; sequence: string }> {
    return this.stmt.unactedTriggers.all(runId, recovery) as Array<{ event: string; sequence: string }>;
  }

  // ---- tasks ------------------------------------------------------------------------------------

  /** Inserts a task; false if (step, sequence) already has one in this recovery. */
  insertTask(t: {
    runId: string;
    recovery: number;
    step: string;
    sequence: string;
    ord: number;
    status: TaskStatus;
    attempts: number;
    result: Buffer | null;
    skipped: boolean;
    now: number;
  }): boolean {
    const info = this.stmt.insertTask.run(
      t.runId,
      t.step,
      t.sequence,
      t.recovery,
      t.ord,
      t.status,
      t.attempts,
      t.result,
      t.skipped ? 1 : 0,
      t.now,
      t.now,
    );
    return info.changes > 0;
  }

  taskExists(runId: string, recovery: number, step: string, sequence: string): boolean {
    return this.stmt.taskExists.get(runId, step, sequence, recovery) !== undefined;
  }

  updateTaskStatus(key: TaskKey, status: TaskStatus, attempts: number, now: number): void {
    this.stmt.updateTaskStatus.run(status, attempts, now, key.runId, key.ord);
  }

  finishTask(
    key: TaskKey,
    status: TaskStatus,
    attempts: number,
    result: Buffer | null,
    error: string | null,
    now: number,
  ) {
    this.stmt.finishTask.run(status, attempts, result, error, now, key.runId, key.ord);
  }

  /** The next `ord` for a run's tasks (creation order across recoveries); taken when it is used. */
  nextTaskOrd(runId: string): number {
    const ord = this.nextOrd(this.taskOrds, runId, this.stmt.maxTaskOrd);
    this.taskOrds.set(runId, ord);
    return ord;
  }

  /** The `ord` the run's next task will get (nothing is taken). */
  peekTaskOrd(runId: string): number {
    return this.nextOrd(this.taskOrds, runId, this.stmt.maxTaskOrd);
  }

  /**
   * Creation counters live in memory: only the process holding a run's lease writes its triggers and
   * tasks, so the counter read once from the store stays right.
   */
  private nextOrd(counters: Map<string, number>, runId: string, max: Database.Statement): number {
    let last = counters.get(runId);
    if (last === undefined) {
      last = (max.get(runId) as number | null) ?? 0;
      counters.set(runId, last);
    }
    return last + 1;
  }

  /** The latest attempt of (step, sequence) in a recovery before `recovery`, its result as stored bytes. */
  latestEarlierTask(
    runId: string,
    step: string,
    sequence: string,
    recovery: number,
  ): { status: TaskStatus; result: Buffer | null; attempts: number; recovery: number } | undefined {
    const row = this.stmt.latestEarlierTask.get(runId, step, sequence, recovery) as
      | {
          status: TaskStatus;
          result: string | null;
          resultV8: Buffer | null;
          attempts: number;
          recovery: number;
        }
      | undefined;
    if (row === undefined) return undefined;
    return { status: row.status, result: resultBytes(row), attempts: row.attempts, recovery: row.recovery };
  }

  unfinishedTasks(runId: string, recovery: number): TaskRow[] {
    return this.stmt.unfinishedTasks.all({ runId, recovery }) as TaskRow[];
  }

  /** Records that every task of the run below `ord` is finished (it only ever moves forward). */
  setOpenFrom(runId: string, ord: number): void {
    this.stmt.setOpenFrom.run(ord, runId);
  }

  failedTasks(runId: string, recovery: number): Array<{ step: string; sequence: string }> {
    return this.stmt.failedTasks.all(runId, recovery) as Array<{ step: string; sequence: string }>;
  }

  /** Records the child process a task's attempt started (JSON of its identity). */
  setTaskChild(key: TaskKey, child: string): void {
    this.stmt.setTaskChild.run(child, key.runId, key.ord);
  }

  /** Drops a task's record of child `pid` once it has ended (a later attempt's child is kept); any record without `pid`. */
  clearTaskChild(key: TaskKey, pid?: number): void {
    if (pid === undefined) this.stmt.clearAnyTaskChild.run(key.runId, key.ord);
    else this.stmt.clearTaskChild.run(key.runId, key.ord, pid);
  }

  /** Tasks of a run, any recovery, with a child recorded and no success: children that may run on. */
  tasksWithChild(runId: string): Array<{ ord: number; step: string; sequence: string; child: string }> {
    return this.stmt.tasksWithChild.all(runId) as Array<{
      ord: number;
      step: string;
      sequence: string;
      child: string;
    }>;
  }

  /** Tasks of a run, oldest first. */
  listTasks(runId: string, query: TaskQuery = {}): TaskRow[] {
    const conditions = [eq(schema.tasks.runId, runId)];
    if (query.status !== undefined) conditions.push(eq(schema.tasks.status, query.status));
    if (query.step !== undefined) conditions.push(eq(schema.tasks.step, query.step));
    if (query.recovery !== undefined) conditions.push(eq(schema.tasks.recovery, query.recovery));
    let builder = this.db
      .select()
      .from(schema.tasks)
      .where(and(...conditions))
      .orderBy(asc(schema.tasks.ord))
      .$dynamic();
    if (query.limit !== undefined) builder = builder.limit(query.limit);
    if (query.offset !== undefined) builder = builder.offset(query.offset);
    return builder.all() as TaskRow[];
  }

  // ---- delays -----------------------------------------------------------------------------------

  /** Due time of an earlier delay of the same assoc and sequence (any recovery), to keep it. */
  earlierDelayDue(runId: string, assoc: string, sequence: string): number | undefined {
    const row = this.stmt.earlierDelayDue.get(runId, assoc, sequence) as { dueAt: number } | undefined;
    return row?.dueAt;
  }

  insertDelay(runId: string, recovery: number, assoc: string, sequence: string, dueAt: number, now: number) {
    const info = this.stmt.insertDelay.run(runId, recovery, assoc, sequence, dueAt, now);
    return info.changes > 0 ? Number(info.lastInsertRowid) : undefined;
  }

  markDelayFired(id: number): void {
    this.stmt.markDelayFired.run(id);
  }

  pendingDelays(runId: string, recovery: number): DelayRow[] {
    return this.stmt.pendingDelays.all(runId, recovery) as DelayRow[];
  }

  // ---- counts -----------------------------------------------------------------------------------

  pendingCounts(
    runId: string,
    recovery: number,
  ): { triggers: number; tasks: number; delays: number; nextDue: number | null } {
    const row = this.stmt.pendingCounts.get({ runId, recovery }) as {
      triggers: number;
      tasks: number;
      delays: number;
      nextDue: number | null;
    };
    return row;
  }
}

function prepareStatements(db: Database.Database) {
  return {
    insertTrigger: db.prepare(
      `INSERT OR IGNORE INTO triggers (run_id, recovery, sequence, event, ord, acted, created_at, source_step, source_sequence)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    triggersFiredBy: db.prepare(
      `SELECT event, sequence FROM triggers
       WHERE run_id = ? AND source_step = ? AND source_sequence = ? AND recovery = ? ORDER BY ord`,
    ),
    markTriggerActed: db.prepare(
      'UPDATE triggers SET acted = 1 WHERE run_id = ? AND recovery = ? AND sequence = ? AND event = ?',
    ),
    hasFired: db
      .prepare('SELECT 1 FROM triggers WHERE run_id = ? AND recovery = ? AND sequence = ? AND event = ?')
      .pluck(),
    anyTrigger: db.prepare('SELECT 1 FROM triggers WHERE run_id = ? AND recovery = ? LIMIT 1').pluck(),
    unactedTriggers: db.prepare(
      'SELECT event, sequence FROM triggers WHERE run_id = ? AND recovery = ? AND acted = 0 ORDER BY ord',
    ),
    insertTask: db.prepare(
      `INSERT OR IGNORE INTO tasks (run_id, step, sequence, recovery, ord, status, attempts, result_v8, skipped, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    taskExists: db
      .prepare('SELECT 1 FROM tasks WHERE run_id = ? AND step = ? AND sequence = ? AND recovery = ?')
      .pluck(),
    updateTaskStatus: db.prepare(
      'UPDATE tasks SET status = ?, attempts = ?, updated_at = ? WHERE run_id = ? AND ord = ?',
    ),
    finishTask: db.prepare(
      'UPDATE tasks SET status = ?, attempts = ?, result_v8 = ?, error = ?, updated_at = ? WHERE run_id = ? AND ord = ?',
    ),
    maxTaskOrd: db.prepare('SELECT max(ord) FROM tasks WHERE run_id = ?').pluck(),
    maxTriggerOrd: db.prepare('SELECT max(ord) FROM triggers WHERE run_id = ?').pluck(),
    latestEarlierTask: db.prepare(
      `SELECT status, result, result_v8 AS resultV8, attempts, recovery FROM tasks
       WHERE run_id = ? AND step = ? AND sequence = ? AND recovery < ? ORDER BY recovery DESC LIMIT 1`,
    ),
    unfinishedTasks: db.prepare(
      `SELECT run_id AS runId, recovery, step, sequence, ord, status, attempts, result, result_v8 AS resultV8, error, skipped,
              created_at AS createdAt, updated_at AS updatedAt
       FROM tasks WHERE run_id = @runId AND ord >= (SELECT open_from FROM runs WHERE id = @runId)
         AND recovery = @recovery AND status NOT IN ('success', 'failure') ORDER BY ord`,
    ),
    failedTasks: db.prepare(
      `SELECT step, sequence FROM tasks WHERE run_id = ? AND recovery = ? AND status = 'failure' ORDER BY ord`,
    ),
    earlierDelayDue: db.prepare(
      'SELECT due_at AS dueAt FROM delays WHERE run_id = ? AND assoc = ? AND sequence = ? ORDER BY recovery LIMIT 1',
    ),
    insertDelay: db.prepare(
      'INSERT OR IGNORE INTO delays (run_id, recovery, assoc, sequence, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    markDelayFired: db.prepare('UPDATE delays SET fired = 1 WHERE id = ?'),
    pendingDelays: db.prepare(
      'SELECT id, assoc, sequence, due_at AS dueAt FROM delays WHERE run_id = ? AND recovery = ? AND fired = 0 ORDER BY due_at, id',
    ),
    pendingCounts: db.prepare(
      `SELECT
         (SELECT count(*) FROM triggers WHERE run_id = @runId AND recovery = @recovery AND acted = 0) AS triggers,
         (SELECT count(*) FROM tasks WHERE run_id = @runId AND ord >= (SELECT open_from FROM runs WHERE id = @runId)
            AND recovery = @recovery AND status NOT IN ('success', 'failure')) AS tasks,
         (SELECT count(*) FROM delays WHERE run_id = @runId AND recovery = @recovery AND fired = 0) AS delays,
         (SELECT min(due_at) FROM delays WHERE run_id = @runId AND recovery = @recovery AND fired = 0) AS nextDue`,
    ),
    setOpenFrom: db.prepare('UPDATE runs SET open_from = max(open_from, ?) WHERE id = ?'),
    setTaskChild: db.prepare('UPDATE tasks SET child = ? WHERE run_id = ? AND ord = ?'),
    clearTaskChild: db.prepare(
      "UPDATE tasks SET child = NULL WHERE run_id = ? AND ord = ? AND json_valid(child) AND json_extract(child, '$.pid') = ?",
    ),
    clearAnyTaskChild: db.prepare('UPDATE tasks SET child = NULL WHERE run_id = ? AND ord = ?'),
    tasksWithChild: db.prepare(
      `SELECT ord, step, sequence, child FROM tasks INDEXED BY tasks_child_idx
       WHERE run_id = ? AND child IS NOT NULL AND status <> 'success' ORDER BY ord`,
    ),
  };
}

/**
 * A failure of SQLite after the store opened (full disk, I/O error, corruption), as a StoreError
 * that names the cause and what to do. Anything else passes through unchanged.
 */
export function asStoreError(error: unknown, path: string, busyTimeoutMs?: number): unknown {
  if (error instanceof FlowError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  const message = (error as Error).message;
  let cause: string;
  if (code === 'SQLITE_FULL') cause = 'the disk is full; free some space, then recover or continue the run';
  else if (code === 'SQLITE_IOERR_SHORT_READ') {
    // a read past the end of the file: it is shorter than its own pages say, i.e. cut off
    cause =
      'the file is corrupt: it is shorter than its pages say (truncated); restore it from a copy, or start afresh with another `store` path';
  } else if (code.startsWith('SQLITE_IOERR')) {
    cause =
      'a write failed (disk full, file size limit, or a failing device); fix it, then recover or continue the run';
  } else if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    cause = 'the file is damaged; restore it from a copy, or start afresh with another `store` path';
  } else if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY')) {
    cause = 'the file or its folder is read-only; make them writable';
  } else if (code.startsWith('SQLITE_BUSY')) {
    const waited = busyTimeoutMs === undefined ? '' : ` (${formatMs(busyTimeoutMs)})`;
    cause =
      `another process held the store's write lock for longer than busyTimeout${waited}; ` +
      "give the Eventor a longer `busyTimeout` (e.g. '2m'), or make the other process commit sooner";
  } else cause = 'SQLite refused the operation';
  return new StoreError(`The store at "${path}" failed (${code}: ${message}): ${cause}.`, {
    cause: error,
    code: 'FLOW_STORE_FAILED',
  });
}

/**
 * Puts the file in WAL mode. The switch needs a moment of exclusive access, and SQLite does not wait
 * for it (its busy handler is not called): while another process opening the same new file holds a
 * lock, it fails at once with SQLITE_BUSY. So it is retried here, for up to busyTimeout. It runs
 * outside any transaction, since SQLite cannot change the journal mode inside one.
 */
function switchToWal(sqlite: Database.Database, busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    try {
      sqlite.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      Atomics.wait(PAUSE, 0, 0, Math.min(pause, Math.max(1, deadline - Date.now())));
    }
  }
}

/** Something to block on for a few ms (the store's calls are synchronous, as SQLite's own busy wait is). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function formatMs(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const MIGRATIONS_TABLE = '__drizzle_migrations';

/** The migrations this package ships, read once per process. */
let shippedMigrations: MigrationMeta[] | undefined;

/**
 * Applies the shipped migrations not yet in the store, as drizzle's `migrate` does (same bookkeeping
 * table, so either can go on from the other), but under a write lock taken before the applied ones are
 * read: drizzle reads them first and locks later, so processes opening a new file together all saw an
 * empty store and all but one failed on `CREATE TABLE`. A store already up to date takes no lock.
 */
function applyMigrations(sqlite: Database.Database, path: string): void {
  shippedMigrations ??= readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  const migrations = shippedMigrations;
  const latest = migrations.reduce((max, migration) => Math.max(max, migration.folderMillis), 0);
  const before = lastAppliedMigration(sqlite);
  if (before !== null && before >= latest) {
    refuseNewerSchema(sqlite, path);
    return;
  }
  sqlite.exec('BEGIN IMMEDIATE');
  try {
    sqlite.exec(
      `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
    );
    refuseNewerSchema(sqlite, path);
    // read again under the lock: another process may have applied them since the first look
    const applied = lastAppliedMigration(sqlite);
    const record = sqlite.prepare(`INSERT INTO "${MIGRATIONS_TABLE}" ("hash", "created_at") VALUES (?, ?)`);
    for (const migration of migrations) {
      if (applied !== null && applied >= migration.folderMillis) continue;
      for (const statement of migration.sql) if (statement.trim() !== '') sqlite.exec(statement);
      record.run(migration.hash, migration.folderMillis);
    }
    sqlite.exec('COMMIT');
  } catch (error) {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
    throw error;
  }
}

/** `created_at` of the latest migration applied to the store, or null for a store without any. */
function lastAppliedMigration(sqlite: Database.Database): number | null {
  const hasTable = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
    .pluck()
    .get(MIGRATIONS_TABLE);
  if (!hasTable) return null;
  const applied = sqlite.prepare(`SELECT max(created_at) FROM "${MIGRATIONS_TABLE}"`).pluck().get();
  return applied === null || applied === undefined ? null : Number(applied);
}

/**
 * better-sqlite3 loads its native module when the first database opens, so a skipped or failed
 * install build (pnpm and npm no longer run install scripts unless allowed) or a build for another
 * Node surfaces here, not at import. Says so and how to fix it; undefined for any other error.
 */
export function nativeModuleProblem(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  const code = (error as { code?: unknown } | null)?.code;
  const offline =
    'Offline, point node-gyp at the local Node headers first (`export npm_config_nodedir=/usr` when they are in /usr/include/node).';
  if (message.includes('Could not locate the bindings file')) {
    const build = /→ (.+[\\/]build)[\\/]/.exec(message)?.[1];
    return (
      "better-sqlite3's native module is missing: its install script was skipped or failed " +
      `(${build === undefined ? 'no better_sqlite3.node was found' : `nothing was built in "${build}"`}). ` +
      'The store path is not at fault. Build the module: with pnpm, `pnpm approve-builds better-sqlite3` ' +
      '(it approves the build and runs it; if better-sqlite3 was approved already, `pnpm rebuild better-sqlite3`); ' +
      'with npm, `npm rebuild better-sqlite3`, and `"allowScripts": { "better-sqlite3": true }` in package.json ' +
      `(or \`npm install-scripts approve better-sqlite3\`) so that later installs build it too. ${offline}`
    );
  }
  if (code === 'ERR_DLOPEN_FAILED' || message.includes('NODE_MODULE_VERSION')) {
    const detail = (message.split('\n')[0] ?? '').slice(0, 300).replace(/\.$/, '');
    return (
      `better-sqlite3's native module was built for another Node.js than this one (${process.version}, ` +
      `${process.platform}-${process.arch}), or is damaged (${detail}). The store path is not at fault. ` +
      `Rebuild the module for this Node: \`pnpm rebuild better-sqlite3\` or \`npm rebuild better-sqlite3\`. ${offline}`
    );
  }
  return undefined;
}
