import { hostname } from 'node:os';
import type { Pool, QueryConfig } from 'pg';
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
import { CONNECT_TIMEOUT_MS, type ConnectionSettings } from './connection.js';
import { asStoreError, missingDriverError, openError } from './errors.js';
import { applyMigrations, STORE_TABLES } from './migrate.js';
import { newPool } from './pools.js';
import { BY_CODE_POINT, NOTIFY_CHANGE, RUN_COLUMNS, TASK_COLUMNS } from './queries.js';
import { withRetry } from './retry.js';
import { PostgresRunStore } from './run-store.js';
import { type QueryResult, SyncBridge } from './sync-bridge.js';
import { fromDb, runFromDb, taskFromDb, toDb } from './text.js';

/** The `busyTimeout` Eventor option's default, as for file stores. */
const DEFAULT_BUSY_TIMEOUT_MS = 30_000;

const RUN_FIELD_COLUMNS: Record<Exclude<keyof RunFields, 'shape'>, string> = {
  mode: 'mode',
  recovery: 'recovery',
  status: 'status',
  endedAt: 'ended_at',
};

/**
 * A store in one Postgres schema of a PostgreSQL database. The calls the public API makes
 * synchronously are answered at once through a worker thread (sync-bridge.ts); the run loop's
 * load and commit, and lease renewals, go through a pool on this thread and answer with promises.
 */
export class PostgresStore implements Store {
  readonly location: string;
  private readonly sync: SyncBridge;
  private readonly settings: ConnectionSettings;
  private readonly busyTimeoutMs: number;
  private pool: Promise<Pool> | undefined;
  private closed = false;
  /**
   * While this store holds a run's lease: its ttl, how long a synchronous call tries a lost
   * connection again (as the run loop's statements do); 0 otherwise, so a call fails at once.
   */
  private retryMs = 0;

  private constructor(
    location: string,
    settings: ConnectionSettings,
    sync: SyncBridge,
    busyTimeoutMs: number,
  ) {
    this.location = location;
    this.settings = settings;
    this.sync = sync;
    this.busyTimeoutMs = busyTimeoutMs;
  }

  /** Connects, creates the schema or applies pending migrations; refuses a newer or a foreign schema. */
  static open(
    target: { url: string; schema: string; display: string },
    options: { busyTimeoutMs?: number | undefined } = {},
  ): PostgresStore {
    const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    const settings: ConnectionSettings = {
      url: target.url,
      schema: target.schema,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      lockTimeoutMs: busyTimeoutMs,
    };
    const sync = new SyncBridge(settings, CONNECT_TIMEOUT_MS + busyTimeoutMs + 5_000, target.display);
    try {
      applyMigrations(sync, target.schema, target.display);
    } catch (error) {
      sync.close();
      throw openError(error, target.display, target.schema);
    }
    return new PostgresStore(target.display, settings, sync, busyTimeoutMs);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  close(): Promise<void> | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    this.sync.close();
    const pool = this.pool;
    this.pool = undefined;
    return pool?.then(
      (p) => p.end(),
      () => {},
    );
  }

  /** Synchronous queries, with failures as StoreError. */
  private query(...queries: QueryConfig[]): QueryResult[] {
    return this.send(queries);
  }

  /**
   * `query`, tried again on a lost connection while this store holds a lease; `safe`: the queries may
   * run twice (a read, or a write of the same values), so they are sent again even once they reached
   * the server.
   */
  private send(queries: QueryConfig[], options: { safe?: boolean } = {}): QueryResult[] {
    if (this.closed)
      throw new StoreError(`The store at "${this.location}" is closed.`, { code: 'FLOW_STORE_CLOSED' });
    const retryMs = this.retryMs;
    try {
      return this.sync.request(queries, { ...options, retryMs });
    } catch (error) {
      throw asStoreError(error, this.location, this.busyTimeoutMs, retryMs);
    }
  }

  /** The rows of one read. */
  private rows<T>(text: string, values: unknown[] = []): T[] {
    return (this.send([{ text, values }], { safe: true })[0]?.rows ?? []) as T[];
  }

  /** The pool of this thread, made on first use (pg is imported only then). */
  connections(): Promise<Pool> {
    this.pool ??= newPool(this.settings).catch((error: unknown) => {
      throw missingDriverError(this.location, error);
    });
    return this.pool;
  }

  // ---- runs -------------------------------------------------------------------------------------

  createRun(run: { id: string; name: string; mode: string; now: number }): void {
    this.query({
      text: `INSERT INTO runs (id, name, mode, recovery, status, started_at, updated_at)
             VALUES ($1, $2, $3, 0, 'running', $4, $4)`,
      values: [toDb(run.id), toDb(run.name), run.mode, run.now],
    });
    this.send([NOTIFY_CHANGE], { safe: true }); // a change notice: harmless if sent twice
  }

  getRun(id: string): RunRow | undefined {
    return runFromDb(this.rows<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [toDb(id)])[0]);
  }

  latestRun(name?: string): RunRow | undefined {
    const where = name === undefined ? '' : 'WHERE name = $1';
    return runFromDb(
      this.rows<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM runs ${where} ORDER BY started_at DESC, id ${BY_CODE_POINT} DESC LIMIT 1`,
        name === undefined ? [] : [toDb(name)],
      )[0],
    );
  }

  flowNames(): string[] {
    return this.rows<{ name: string }>(
      `SELECT DISTINCT name ${BY_CODE_POINT} AS name FROM runs ORDER BY 1`,
    ).map((row) => fromDb(row.name));
  }

  updateRun(change: { id: string; fields: RunFields; now: number }): void {
    const { shape, ...fields } = change.fields;
    const values: unknown[] = [toDb(change.id), change.now];
    const sets = ['updated_at = $2'];
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      values.push(value);
      sets.push(`${RUN_FIELD_COLUMNS[key as keyof typeof RUN_FIELD_COLUMNS]} = $${values.length}`);
    }
    const update = { text: `UPDATE runs SET ${sets.join(', ')} WHERE id = $1`, values };
    // it writes the same values when sent twice
    if (shape === undefined || shape === null) this.send([update], { safe: true });
    // one statement: the run row and its shape change together
    else
      this.send(
        [
          {
            text: `WITH run AS (${update.text} RETURNING id)
                   INSERT INTO run_shapes (run_id, shape) SELECT id, $${values.length + 1} FROM run
                   ON CONFLICT (run_id) DO UPDATE SET shape = EXCLUDED.shape`,
            values: [...values, shape],
          },
        ],
        { safe: true },
      );
    this.send([NOTIFY_CHANGE], { safe: true }); // a change notice: harmless if sent twice
  }

  /** The store's tables that are missing (a schema damaged by hand), or undefined when all are there. */
  damage(): string | undefined {
    try {
      const present = this.rows<{ name: string }>(
        `SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
        [this.settings.schema],
      ).map((row) => row.name);
      const missing = STORE_TABLES.filter((table) => !present.includes(table));
      return missing.length === 0 ? undefined : `table ${missing.join(', ')} missing`;
    } catch (error) {
      return (error as Error).message;
    }
  }

  // ---- leases -----------------------------------------------------------------------------------

  acquireLease(claim: {
    runId: string;
    holder: LeaseHolder;
    now: number;
    check?: (run: RunRow) => void;
  }): void {
    const { runId, holder, now } = claim;
    const id = toDb(runId);
    // the row stays locked between the two calls: `check` sees the run as the lease is taken
    withFaultKill((inside) => {
      try {
        const [, read] = this.send(
          [
            { text: 'BEGIN' },
            { text: `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1 FOR UPDATE`, values: [id] },
          ],
          { safe: true },
        );
        const run = runFromDb(read?.rows[0] as RunRow | undefined);
        if (!run) throw new StoreError(`Run "${runId}" is not in the store at "${this.location}".`);
        if (run.leaseToken && run.leaseToken !== holder.token && leaseHolderAlive(run, now, leasesHeldHere))
          throw new StoreError(leaseInUseMessage(run, this.location), { code: 'FLOW_STORE_IN_USE' });
        claim.check?.(run);
        this.query({
          text: `UPDATE runs SET lease_pid = $1, lease_host = $2, lease_token = $3, lease_expires_at = $4 WHERE id = $5`,
          values: [process.pid, hostname(), holder.token, now + holder.ttlMs, id],
        });
        inside();
        this.query({ text: 'COMMIT' });
      } catch (error) {
        this.rollback();
        throw error;
      }
    });
    leasesHeldHere.add(holder.token);
    this.retryMs = holder.ttlMs;
  }

  private rollback(): void {
    try {
      this.sync.query({ text: 'ROLLBACK' });
    } catch {
      // the connection is gone, and the transaction with it
    }
  }

  /**
   * On the pool: a renewal never blocks this thread, even when the server is slow to answer. A lost
   * connection is tried again until the next renewal is due (a third of the ttl).
   */
  async renewLease(claim: { runId: string; holder: LeaseHolder; now: number }): Promise<boolean> {
    const { runId, holder, now } = claim;
    const windowMs = Math.floor(holder.ttlMs / 3);
    try {
      const result = await withRetry(
        async () =>
          (await this.connections()).query({
            text: 'UPDATE runs SET lease_expires_at = $1 WHERE id = $2 AND lease_token = $3 AND lease_pid IS NOT NULL',
            values: [now + holder.ttlMs, toDb(runId), holder.token],
          }),
        windowMs,
      );
      return result.rowCount === 1;
    } catch (error) {
      throw asStoreError(error, this.location, this.busyTimeoutMs, windowMs);
    }
  }

  releaseLease(claim: { runId: string; holder: LeaseHolder }): void {
    leasesHeldHere.delete(claim.holder.token);
    if (this.closed) return;
    try {
      // the token stays as the last holder's: a holder taking the lease again can tell that another drove the run since
      this.send(
        [
          {
            text: 'UPDATE runs SET lease_pid = NULL, lease_host = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_token = $2',
            values: [toDb(claim.runId), claim.holder.token],
          },
        ],
        { safe: true },
      );
    } finally {
      this.retryMs = 0;
    }
  }

  forRun(run: { runId: string; recovery: number; holder: LeaseHolder }): RunStore {
    return new PostgresRunStore({
      connections: () => this.connections(),
      runId: run.runId,
      recovery: run.recovery,
      holder: run.holder,
      failed: (error, retriedMs) => asStoreError(error, this.location, this.busyTimeoutMs, retriedMs),
      leaseLost: () => leaseLostError(run.runId, this.location),
    });
  }

  // ---- outside the run loop ---------------------------------------------------------------------

  insertTrigger(t: {
    runId: string;
    recovery: number;
    event: string;
    sequence: string;
    now: number;
  }): boolean {
    const insert = {
      text: `INSERT INTO triggers (run_id, recovery, sequence, event, ord, acted, created_at)
             SELECT $1, $2, $3, $4, coalesce((SELECT max(ord) FROM triggers WHERE run_id = $1), 0) + 1, 0, $5
             ON CONFLICT DO NOTHING`,
      values: [toDb(t.runId), t.recovery, toDb(t.sequence), toDb(t.event), t.now],
    };
    const [result] = withFaultKill((inside) => {
      if (FAULT_KILL === undefined) return this.query(insert);
      // crash tests: a transaction of its own, so that `inside` falls between the insert and its commit
      try {
        const [, inserted] = this.query({ text: 'BEGIN' }, insert);
        inside();
        this.query({ text: 'COMMIT' });
        return [inserted];
      } catch (error) {
        this.rollback();
        throw error;
      }
    });
    return (result?.rowCount ?? 0) > 0;
  }

  hasTriggers(run: { runId: string; recovery: number }): boolean {
    return (
      this.rows('SELECT 1 FROM triggers WHERE run_id = $1 AND recovery = $2 LIMIT 1', [
        toDb(run.runId),
        run.recovery,
      ]).length > 0
    );
  }

  pendingCounts(run: { runId: string; recovery: number }): PendingCounts {
    const [counts] = this.rows<PendingCounts>(
      `SELECT
         (SELECT count(*) FROM triggers WHERE run_id = $1 AND recovery = $2 AND acted = 0) AS triggers,
         (SELECT count(*) FROM tasks WHERE run_id = $1 AND ord >= (SELECT open_from FROM runs WHERE id = $1)
            AND recovery = $2 AND status NOT IN ('success', 'failure')) AS tasks,
         (SELECT count(*) FROM delays WHERE run_id = $1 AND recovery = $2 AND fired = 0) AS delays,
         (SELECT min(due_at) FROM delays WHERE run_id = $1 AND recovery = $2 AND fired = 0) AS "nextDue"`,
      [toDb(run.runId), run.recovery],
    );
    return counts as PendingCounts;
  }

  listTasks(runId: string, query: TaskQuery = {}): TaskRow[] {
    const values: unknown[] = [toDb(runId)];
    const where = ['run_id = $1'];
    const filter = (column: string, value: unknown) => {
      values.push(value);
      where.push(`${column} = $${values.length}`);
    };
    if (query.status !== undefined) filter('status', query.status);
    if (query.step !== undefined) filter('step', toDb(query.step));
    if (query.recovery !== undefined) filter('recovery', query.recovery);
    let text = `SELECT ${TASK_COLUMNS} FROM tasks WHERE ${where.join(' AND ')} ORDER BY ord`;
    if (query.limit !== undefined) {
      values.push(query.limit);
      text += ` LIMIT $${values.length}`;
    }
    if (query.offset !== undefined) {
      values.push(query.offset);
      text += ` OFFSET $${values.length}`;
    }
    return this.rows<TaskRow>(text, values).map(taskFromDb);
  }
}
