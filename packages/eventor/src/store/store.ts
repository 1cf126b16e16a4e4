import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { and, asc, desc, eq } from 'drizzle-orm';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { FlowError, StoreError } from '../errors.js';
import type { TaskStatus } from '../model/status.js';
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

/** Leases held by live Eventor objects of this process, so two objects cannot drive one run. */
const leasesHeldHere = new Set<string>();

/**
 * The run store: one SQLite file in WAL mode. Every query the engine makes lives here. Hot-path
 * writes use prepared statements; everything else goes through drizzle.
 */
export class Store {
  readonly path: string;
  private readonly sqlite: Database.Database;
  private readonly db: BetterSQLite3Database<typeof schema>;
  private closed = false;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private readonly inTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly triggerOrds = new Map<string, number>();
  private readonly taskOrds = new Map<string, number>();

  private constructor(path: string, sqlite: Database.Database) {
    this.path = path;
    this.sqlite = sqlite;
    this.db = drizzle(sqlite, { schema });
    this.stmt = prepareStatements(sqlite);
    this.inTransaction = sqlite.transaction((fn: () => unknown) => fn());
  }

  /** Opens (creating if needed) the store at `path`, applies pending migrations, refuses newer ones. */
  static open(path: string): Store {
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
      sqlite.pragma('busy_timeout = 5000');
      if (path !== ':memory:') sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      refuseNewerSchema(sqlite, path);
      migrate(drizzle(sqlite), { migrationsFolder: MIGRATIONS_FOLDER });
      return new Store(path, sqlite);
    } catch (cause) {
      sqlite.close();
      if (cause instanceof StoreError) throw cause;
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
    return this.db.select().from(schema.runs).where(eq(schema.runs.id, id)).get();
  }

  /** The run most recently started, optionally restricted to one flow name. */
  latestRun(name?: string): RunRow | undefined {
    const query = this.db.select().from(schema.runs);
    const filtered = name === undefined ? query : query.where(eq(schema.runs.name, name));
    return filtered.orderBy(desc(schema.runs.startedAt), desc(schema.runs.id)).limit(1).get();
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
   */
  acquireLease(runId: string, token: string): void {
    const host = hostname();
    this.transaction(() => {
      const run = this.getRun(runId);
      if (!run) throw new StoreError(`Run "${runId}" is not in the store at "${this.path}".`);
      if (run.leaseToken && run.leaseToken !== token && leaseIsLive(run, host)) {
        throw new StoreError(
          `Run "${runId}" in "${this.path}" is in use by a live process (pid ${run.leasePid} on ${run.leaseHost}). ` +
            `Wait for it to finish or stop it, then recover or continue; or start a new run with runMode 'restart'.`,
          { code: 'FLOW_STORE_IN_USE' },
        );
      }
      this.db
        .update(schema.runs)
        .set({ leasePid: process.pid, leaseHost: host, leaseToken: token })
        .where(eq(schema.runs.id, runId))
        .run();
    });
    leasesHeldHere.add(token);
  }

  releaseLease(runId: string, token: string): void {
    leasesHeldHere.delete(token);
    if (this.closed) return;
    this.db
      .update(schema.runs)
      .set({ leasePid: null, leaseHost: null, leaseToken: null })
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
    result: string | null;
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
    result: string | null,
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

  /** The latest attempt of (step, sequence) in a recovery before `recovery`. */
  latestEarlierTask(runId: string, step: string, sequence: string, recovery: number) {
    return this.stmt.latestEarlierTask.get(runId, step, sequence, recovery) as
      | { status: TaskStatus; result: string | null; attempts: number; recovery: number }
      | undefined;
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
    unactedTriggers: db.prepare(
      'SELECT event, sequence FROM triggers WHERE run_id = ? AND recovery = ? AND acted = 0 ORDER BY ord',
    ),
    insertTask: db.prepare(
      `INSERT OR IGNORE INTO tasks (run_id, step, sequence, recovery, ord, status, attempts, result, skipped, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    taskExists: db
      .prepare('SELECT 1 FROM tasks WHERE run_id = ? AND step = ? AND sequence = ? AND recovery = ?')
      .pluck(),
    updateTaskStatus: db.prepare(
      'UPDATE tasks SET status = ?, attempts = ?, updated_at = ? WHERE run_id = ? AND ord = ?',
    ),
    finishTask: db.prepare(
      'UPDATE tasks SET status = ?, attempts = ?, result = ?, error = ?, updated_at = ? WHERE run_id = ? AND ord = ?',
    ),
    maxTaskOrd: db.prepare('SELECT max(ord) FROM tasks WHERE run_id = ?').pluck(),
    maxTriggerOrd: db.prepare('SELECT max(ord) FROM triggers WHERE run_id = ?').pluck(),
    latestEarlierTask: db.prepare(
      `SELECT status, result, attempts, recovery FROM tasks
       WHERE run_id = ? AND step = ? AND sequence = ? AND recovery < ? ORDER BY recovery DESC LIMIT 1`,
    ),
    unfinishedTasks: db.prepare(
      `SELECT run_id AS runId, recovery, step, sequence, ord, status, attempts, result, error, skipped,
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
  };
}

/**
 * A failure of SQLite after the store opened (full disk, I/O error, corruption), as a StoreError
 * that names the cause and what to do. Anything else passes through unchanged.
 */
export function asStoreError(error: unknown, path: string): unknown {
  if (error instanceof FlowError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  const message = (error as Error).message;
  let cause: string;
  if (code === 'SQLITE_FULL') cause = 'the disk is full; free some space, then recover or continue the run';
  else if (code.startsWith('SQLITE_IOERR')) {
    cause =
      'a write failed (disk full, file size limit, or a failing device); fix it, then recover or continue the run';
  } else if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    cause = 'the file is damaged; restore it from a copy, or start afresh with another `store` path';
  } else if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY')) {
    cause = 'the file or its folder is read-only; make them writable';
  } else if (code === 'SQLITE_BUSY') cause = 'another process held the store locked for too long';
  else cause = 'SQLite refused the operation';
  return new StoreError(`The store at "${path}" failed (${code}: ${message}): ${cause}.`, {
    cause: error,
    code: 'FLOW_STORE_FAILED',
  });
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

/** Refuses a store whose applied migrations are newer than the ones this package ships. */
export function refuseNewerSchema(sqlite: Database.Database, path: string): void {
  const hasTable = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .pluck()
    .get();
  if (!hasTable) return;
  const applied = sqlite.prepare('SELECT max(created_at) FROM __drizzle_migrations').pluck().get() as
    | number
    | null;
  const journal = JSON.parse(readFileSync(`${MIGRATIONS_FOLDER}/meta/_journal.json`, 'utf8')) as {
    entries: Array<{ when: number; tag: string }>;
  };
  const shipped = Math.max(...journal.entries.map((entry) => entry.when));
  if (applied !== null && applied > shipped) {
    throw new StoreError(
      `The store at "${path}" was written by a newer version of @flow/eventor (schema from ${new Date(applied).toISOString()}, ` +
        `this version knows schemas up to ${new Date(shipped).toISOString()}). Upgrade @flow/eventor to read it.`,
      { code: 'FLOW_STORE_NEWER' },
    );
  }
}

function leaseIsLive(run: RunRow, host: string): boolean {
  if (run.leasePid === null) return false;
  if (run.leaseHost !== host) return true; // another machine: we cannot probe it, so respect the lease
  if (run.leasePid === process.pid) return run.leaseToken !== null && leasesHeldHere.has(run.leaseToken);
  try {
    process.kill(run.leasePid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
