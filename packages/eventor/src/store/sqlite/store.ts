import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import { and, asc, eq } from 'drizzle-orm';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { leaseLostError, StoreError } from '../../errors.js';
import { FAULT_KILL, withFaultKill } from '../fault.js';
import { leaseHolderAlive, leaseInUseMessage, leasesHeldHere } from '../lease.js';
import type {
  LeaseHolder,
  PendingCounts,
  RunFields,
  RunRow,
  RunStore,
  Store,
  TaskQuery,
  TaskRow,
} from '../types.js';
import { asStoreError, isBusy, nativeModuleProblem } from './errors.js';
import { type LeaseStatements, prepareLeaseStatements } from './lease.js';
import { applyMigrations, switchToWal } from './migrate.js';
import { getRun, latestRun } from './queries.js';
import { SqliteRunStore } from './run-store.js';
import * as schema from './schema.js';

/** The `busyTimeout` Eventor option's default. */
export const DEFAULT_BUSY_TIMEOUT_MS = 30_000;
const MAX_BUSY_TIMEOUT_MS = 2 ** 31 - 1;

/** A store in one SQLite file in WAL mode; every call answers at once (better-sqlite3 is synchronous). */
export class SqliteStore implements Store {
  readonly location: string;
  /** How long a write waits for another process's write lock before it fails (the `busyTimeout` option). */
  readonly busyTimeoutMs: number;
  readonly sqlite: Database.Database;
  private readonly db: BetterSQLite3Database<typeof schema>;
  private closed = false;
  private readonly lease: LeaseStatements;
  private readonly inTransaction: Database.Transaction<(fn: () => unknown) => unknown>;
  private readonly stmt: ReturnType<typeof prepareStatements>;

  private constructor(path: string, sqlite: Database.Database, busyTimeoutMs: number) {
    this.location = path;
    this.busyTimeoutMs = busyTimeoutMs;
    this.sqlite = sqlite;
    this.db = drizzle(sqlite, { schema });
    this.lease = prepareLeaseStatements(sqlite);
    this.stmt = prepareStatements(sqlite);
    this.inTransaction = sqlite.transaction((fn: () => unknown) => fn());
  }

  /**
   * Opens (creating if needed) the store at `path`, applies pending migrations, refuses newer ones.
   * Several processes may open one file at once, a new one included (see applyMigrations).
   */
  static open(path: string, options: { busyTimeoutMs?: number | undefined } = {}): SqliteStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    refuseHeaderless(path);
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
      return new SqliteStore(path, sqlite, busyTimeoutMs);
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
    try {
      if (FAULT_KILL === undefined) return this.inTransaction.immediate(fn) as T;
      return withFaultKill(
        (inside) =>
          this.inTransaction.immediate(() => {
            const value = fn();
            inside();
            return value;
          }) as T,
      );
    } catch (error) {
      throw asStoreError(error, this.location, this.busyTimeoutMs);
    }
  }

  /** A call outside a transaction, with SQLite's failures as StoreError. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw asStoreError(error, this.location, this.busyTimeoutMs);
    }
  }

  // ---- runs -------------------------------------------------------------------------------------

  createRun(run: { id: string; name: string; mode: string; now: number }): void {
    this.guard(() =>
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
        .run(),
    );
  }

  getRun(id: string): RunRow | undefined {
    return this.guard(() => getRun(this.db, id));
  }

  latestRun(name?: string): RunRow | undefined {
    return this.guard(() => latestRun(this.db, name));
  }

  /** What SQLite's integrity check finds wrong (it reads the whole file: for error paths only). */
  damage(): string | undefined {
    try {
      const rows = this.sqlite.prepare('PRAGMA integrity_check(3)').pluck().all() as string[];
      return rows.length === 1 && rows[0] === 'ok' ? undefined : rows.join('; ');
    } catch (error) {
      return (error as Error).message;
    }
  }

  flowNames(): string[] {
    return this.guard(() =>
      this.db
        .selectDistinct({ name: schema.runs.name })
        .from(schema.runs)
        .orderBy(asc(schema.runs.name))
        .all()
        .map((row) => row.name),
    );
  }

  updateRun(change: { id: string; fields: RunFields; now: number }): void {
    const { shape, ...fields } = change.fields;
    // not counted by the crash tests' fault hook, which numbers the run's commits as they were
    this.guard(() =>
      this.inTransaction.immediate(() => {
        this.db
          .update(schema.runs)
          .set({ ...fields, updatedAt: change.now })
          .where(eq(schema.runs.id, change.id))
          .run();
        if (shape !== undefined && shape !== null) {
          this.db
            .insert(schema.runShapes)
            .values({ runId: change.id, shape })
            .onConflictDoUpdate({ target: schema.runShapes.runId, set: { shape } })
            .run();
        }
      }),
    );
  }

  // ---- leases -----------------------------------------------------------------------------------

  acquireLease(claim: { runId: string; holder: LeaseHolder; now: number; check?: (run: RunRow) => void }) {
    const { runId, holder, now } = claim;
    this.transaction(() => {
      const run = getRun(this.db, runId);
      if (!run) throw new StoreError(`Run "${runId}" is not in the store at "${this.location}".`);
      if (run.leaseToken && run.leaseToken !== holder.token && leaseHolderAlive(run, now, leasesHeldHere)) {
        throw new StoreError(leaseInUseMessage(run, this.location), { code: 'FLOW_STORE_IN_USE' });
      }
      claim.check?.(run);
      this.lease.take.run(process.pid, hostname(), holder.token, now + holder.ttlMs, runId);
    });
    leasesHeldHere.add(holder.token);
  }

  renewLease(claim: { runId: string; holder: LeaseHolder; now: number }): boolean {
    const { runId, holder, now } = claim;
    return this.guard(() => this.lease.renew.run(now + holder.ttlMs, runId, holder.token).changes === 1);
  }

  releaseLease(claim: { runId: string; holder: LeaseHolder }): void {
    leasesHeldHere.delete(claim.holder.token);
    if (this.closed) return;
    this.guard(() => this.lease.release.run(claim.runId, claim.holder.token));
  }

  forRun(run: { runId: string; recovery: number; holder: LeaseHolder }): RunStore {
    // it prepares its statements at once: a damaged schema fails here, as a StoreError
    return this.guard(
      () =>
        new SqliteRunStore({
          sqlite: this.sqlite,
          transaction: (fn) => this.transaction(fn),
          guard: (fn) => this.guard(fn),
          // a read, not a renewal (one write fewer per commit): the session renews the lease on its own
          fence: () => {
            if (this.lease.held.get(run.runId, run.holder.token) === undefined)
              throw leaseLostError(run.runId, this.location);
          },
          runId: run.runId,
          recovery: run.recovery,
        }),
    );
  }

  // ---- reads outside the run loop ---------------------------------------------------------------

  /** Records a trigger fired from outside the run loop; false when it had fired already. */
  insertTrigger(t: {
    runId: string;
    recovery: number;
    event: string;
    sequence: string;
    now: number;
  }): boolean {
    return this.transaction(() => {
      const ord = ((this.stmt.maxTriggerOrd.get(t.runId) as number | null) ?? 0) + 1;
      return this.stmt.insertTrigger.run(t.runId, t.recovery, t.sequence, t.event, ord, t.now).changes > 0;
    });
  }

  hasTriggers(run: { runId: string; recovery: number }): boolean {
    return this.guard(() => this.stmt.anyTrigger.get(run.runId, run.recovery) !== undefined);
  }

  pendingCounts(run: { runId: string; recovery: number }): PendingCounts {
    return this.guard(() => this.stmt.pendingCounts.get(run) as PendingCounts);
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
    return this.guard(() => builder.all() as TaskRow[]);
  }
}

function prepareStatements(db: Database.Database) {
  return {
    maxTriggerOrd: db.prepare('SELECT max(ord) FROM triggers WHERE run_id = ?').pluck(),
    insertTrigger: db.prepare(
      `INSERT OR IGNORE INTO triggers (run_id, recovery, sequence, event, ord, acted, created_at)
       VALUES (?, ?, ?, ?, ?, 0, ?)`,
    ),
    anyTrigger: db.prepare('SELECT 1 FROM triggers WHERE run_id = ? AND recovery = ? LIMIT 1').pluck(),
    pendingCounts: db.prepare(
      `SELECT
         (SELECT count(*) FROM triggers WHERE run_id = @runId AND recovery = @recovery AND acted = 0) AS triggers,
         (SELECT count(*) FROM tasks WHERE run_id = @runId AND ord >= (SELECT open_from FROM runs WHERE id = @runId)
            AND recovery = @recovery AND status NOT IN ('success', 'failure')) AS tasks,
         (SELECT count(*) FROM delays WHERE run_id = @runId AND recovery = @recovery AND fired = 0) AS delays,
         (SELECT min(due_at) FROM delays WHERE run_id = @runId AND recovery = @recovery AND fired = 0) AS nextDue`,
    ),
  };
}

/** The length of SQLite's header string ('SQLite format 3\\0'). */
const SQLITE_HEADER_LENGTH = 16;

/**
 * SQLite takes a file cut down to a single byte for a new, empty database and would write a fresh
 * store over it: a file shorter than SQLite's header but not empty is refused as cut short.
 */
function refuseHeaderless(path: string): void {
  if (path === ':memory:' || path.startsWith('file:')) return;
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return; // a folder: opening says what is wrong
    size = stat.size;
  } catch {
    return; // missing (a new store) or unreadable: opening says what is wrong
  }
  if (size === 0 || size >= SQLITE_HEADER_LENGTH) return;
  throw new StoreError(
    `Cannot use the store at "${path}": it is not a database (only ${size} byte${size === 1 ? '' : 's'}: cut short, so corrupt). ` +
      'Restore it from a copy, or pass another `store` path to start afresh.',
    { code: 'FLOW_STORE_OPEN' },
  );
}
