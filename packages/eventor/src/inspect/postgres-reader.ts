/**
 * The Reader of a PostgreSQL store: read-only queries on a connection the server itself keeps
 * read-only (default_transaction_read_only), answered synchronously through the store's worker
 * thread (SyncBridge), as the CLI and the ui server ask them. Rows and their order are the SQLite
 * reader's: names ordered by code point (COLLATE "C"), name filters folding ASCII letters only.
 */
import { StoreError } from '../errors.js';
import type { StoreLocation } from '../store/location.js';
import { CONNECT_TIMEOUT_MS, type ConnectionSettings } from '../store/postgres/connection.js';
import { asStoreError, openError } from '../store/postgres/errors.js';
import { listenForChanges } from '../store/postgres/listen.js';
import { checkReadable } from '../store/postgres/migrate.js';
import { BY_CODE_POINT, RUN_COLUMNS, RUN_LIST_COLUMNS, TASK_COLUMNS } from '../store/postgres/queries.js';
import { SyncBridge } from '../store/postgres/sync-bridge.js';
import type { RunRow, TaskRow } from '../store/types.js';
import {
  type DelayInfo,
  type Reader,
  type RunSummary,
  type RunsPageQuery,
  runState,
  type TaskFilter,
  type TriggerRow,
  UNFINISHED,
} from './reader.js';

type PostgresLocation = Extract<StoreLocation, { kind: 'postgres' }>;

/** How long a read may take before the server counts as unreachable. */
const READ_WAIT_MS = CONNECT_TIMEOUT_MS + 20_000;
/** A reader waits for no lock for long: only a migration takes locks that reads wait for. */
const LOCK_TIMEOUT_MS = 10_000;

interface Counts {
  runId: string;
  success: number;
  failure: number;
  skipped: number;
  pending: number;
}

export class PostgresReader implements Reader {
  readonly location: string;
  private readonly bridge: SyncBridge;
  private readonly settings: ConnectionSettings;

  private constructor(location: string, settings: ConnectionSettings, bridge: SyncBridge) {
    this.location = location;
    this.settings = settings;
    this.bridge = bridge;
  }

  /**
   * Connects and checks the schema without changing it; StoreError when the server, database or
   * login fails, when the schema holds no store, another program's tables, or a newer store.
   */
  static open(target: PostgresLocation): PostgresReader {
    const settings: ConnectionSettings = {
      url: readOnly(target.url),
      schema: target.schema,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      lockTimeoutMs: LOCK_TIMEOUT_MS,
    };
    const bridge = new SyncBridge(settings, READ_WAIT_MS, target.display);
    let store: boolean;
    try {
      store = checkReadable(bridge, target.schema, target.display).store;
    } catch (error) {
      bridge.close();
      throw openError(error, target.display, target.schema);
    }
    const reader = new PostgresReader(target.display, settings, bridge);
    if (!store) {
      const others = reader.storeSchemas();
      reader.close();
      throw new StoreError(
        `No flow store at "${target.display}": the Postgres schema "${target.schema}" ` +
          `${others.exists ? 'holds no tables' : 'does not exist'}. ` +
          (others.schemas.length > 0
            ? `Schemas of this database that hold one: ${others.schemas.join(', ')} (name one with ?schema=name).`
            : 'Give the URL and ?schema=name of a store an eventor or sequent run wrote (the default schema is flow).'),
        { code: 'FLOW_STORE_MISSING' },
      );
    }
    return reader;
  }

  close(): void {
    this.bridge.close();
  }

  private rows<T>(text: string, values: unknown[] = []): T[] {
    try {
      return (this.bridge.query({ text, values })[0]?.rows ?? []) as T[];
    } catch (error) {
      throw asStoreError(error, this.location);
    }
  }

  /** The schemas of the database that have a flow store's runs table, and whether ours exists. */
  private storeSchemas(): { exists: boolean; schemas: string[] } {
    try {
      const [row] = this.rows<{ exists: boolean; schemas: string[] }>(
        `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists,
                coalesce((SELECT array_agg(n.nspname::text ORDER BY n.nspname::text ${BY_CODE_POINT})
                  FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid
                  WHERE c.relname = 'runs' AND c.relkind IN ('r', 'p')
                    AND EXISTS (SELECT 1 FROM pg_class m WHERE m.relnamespace = n.oid
                                AND m.relname = '__drizzle_migrations')), '{}') AS schemas`,
        [this.settings.schema],
      );
      return row ?? { exists: false, schemas: [] };
    } catch {
      return { exists: false, schemas: [] };
    }
  }

  listRuns(): RunSummary[] {
    const runs = this.rows<RunRow>(
      `SELECT ${RUN_LIST_COLUMNS} FROM runs ORDER BY started_at, id ${BY_CODE_POINT}`,
    );
    return this.summarize(runs, false);
  }

  listRunsPage(query: RunsPageQuery): { total: number; runs: RunSummary[] } {
    const values: unknown[] = [];
    const where: string[] = [];
    if (query.name) {
      values.push(`%${query.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      // "C" folds ASCII letters only, as SQLite's LIKE does
      where.push(
        `(name ${BY_CODE_POINT} ILIKE $1 ESCAPE E'\\\\' OR id ${BY_CODE_POINT} ILIKE $1 ESCAPE E'\\\\')`,
      );
    }
    // 'running' and 'interrupted' are both stored as running: tell them apart by the lease, in JS
    const live = query.state === 'running' || query.state === 'interrupted';
    if (query.state) {
      values.push(live ? 'running' : query.state);
      where.push(`status = $${values.length}`);
    }
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const order = `ORDER BY started_at DESC, id ${BY_CODE_POINT} DESC`;
    if (live) {
      const rows = this.rows<RunRow>(`SELECT ${RUN_LIST_COLUMNS} FROM runs ${filter} ${order}`, values);
      const matching = rows.filter((run) => runState(run) === query.state);
      const page = matching.slice(query.offset, query.offset + query.limit);
      return { total: matching.length, runs: this.summarize(page, true) };
    }
    const [count] = this.rows<{ n: number }>(`SELECT count(*) AS n FROM runs ${filter}`, values);
    const rows = this.rows<RunRow>(
      `SELECT ${RUN_LIST_COLUMNS} FROM runs ${filter} ${order} LIMIT $${values.length + 1} OFFSET $${values.length + 2}`,
      [...values, query.limit, query.offset],
    );
    return { total: count?.n ?? 0, runs: this.summarize(rows, true) };
  }

  /** The runs with the tasks and delays of their current recovery counted (only theirs when `only`). */
  private summarize(runs: RunRow[], only: boolean): RunSummary[] {
    const ids = runs.map((run) => run.id);
    if (only && ids.length === 0) return [];
    const which = only ? 'AND t.run_id = ANY($1::text[])' : '';
    const counts = this.rows<Counts>(
      `SELECT t.run_id AS "runId",
         sum(CASE WHEN t.status = 'success' AND t.skipped = 0 THEN 1 ELSE 0 END) AS success,
         sum(CASE WHEN t.status = 'failure' THEN 1 ELSE 0 END) AS failure,
         sum(CASE WHEN t.status = 'success' AND t.skipped = 1 THEN 1 ELSE 0 END) AS skipped,
         sum(CASE WHEN t.status NOT IN ('success', 'failure') THEN 1 ELSE 0 END) AS pending
       FROM tasks t JOIN runs r ON r.id = t.run_id AND r.recovery = t.recovery
       WHERE true ${which} GROUP BY t.run_id`,
      only ? [ids] : [],
    );
    const delays = this.rows<{ runId: string; pending: number }>(
      `SELECT t.run_id AS "runId", count(*) AS pending
       FROM delays t JOIN runs r ON r.id = t.run_id AND r.recovery = t.recovery
       WHERE t.fired = 0 ${which} GROUP BY t.run_id`,
      only ? [ids] : [],
    );
    const byRun = new Map(counts.map((row) => [row.runId, row]));
    const delaysByRun = new Map(delays.map((row) => [row.runId, row.pending]));
    return runs.map((run) => {
      const count = byRun.get(run.id);
      return {
        ...run,
        success: count?.success ?? 0,
        failure: count?.failure ?? 0,
        skipped: count?.skipped ?? 0,
        pending: count?.pending ?? 0,
        delays: delaysByRun.get(run.id) ?? 0,
        state: runState(run),
      };
    });
  }

  getRun(id: string): RunRow | undefined {
    return this.rows<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1`, [id])[0];
  }

  latestRun(): RunRow | undefined {
    return this.rows<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs ORDER BY started_at DESC, id ${BY_CODE_POINT} DESC LIMIT 1`,
    )[0];
  }

  tasks(runId: string, filter: TaskFilter = {}): TaskRow[] {
    const values: unknown[] = [runId];
    const where = ['run_id = $1'];
    if (filter.statuses && filter.statuses.length > 0) {
      const statuses = new Set<string>(filter.statuses);
      if (statuses.delete('pending')) for (const status of UNFINISHED) statuses.add(status);
      values.push([...statuses]);
      where.push(`status = ANY($${values.length}::text[])`);
    }
    if (filter.steps && filter.steps.length > 0) {
      values.push([...filter.steps]);
      where.push(`step = ANY($${values.length}::text[])`);
    }
    if (filter.recovery !== undefined) {
      values.push(filter.recovery);
      where.push(`recovery = $${values.length}`);
    }
    return this.rows<TaskRow>(
      `SELECT ${TASK_COLUMNS} FROM tasks WHERE ${where.join(' AND ')} ORDER BY ord`,
      values,
    );
  }

  firedTriggers(runId: string, recovery: number, sequence?: string): TriggerRow[] {
    const values: unknown[] = [runId, recovery];
    if (sequence !== undefined) values.push(sequence);
    return this.rows<Omit<TriggerRow, 'acted'> & { acted: number }>(
      `SELECT event, sequence, recovery, ord, acted, created_at AS "createdAt" FROM triggers
       WHERE run_id = $1 AND recovery = $2 ${sequence === undefined ? '' : 'AND sequence = $3'} ORDER BY ord`,
      values,
    ).map((row) => ({ ...row, acted: row.acted === 1 }));
  }

  delays(runId: string, recovery: number, sequence?: string): DelayInfo[] {
    const values: unknown[] = [runId, recovery];
    if (sequence !== undefined) values.push(sequence);
    return this.rows<Omit<DelayInfo, 'fired'> & { fired: number }>(
      `SELECT assoc, sequence, recovery, due_at AS "dueAt", fired FROM delays
       WHERE run_id = $1 AND recovery = $2 ${sequence === undefined ? '' : 'AND sequence = $3'}
       ORDER BY due_at, id`,
      values,
    ).map((row) => ({ ...row, fired: row.fired === 1 }));
  }

  pendingDelays(runId: string, recovery: number): DelayInfo[] {
    return this.delays(runId, recovery).filter((delay) => !delay.fired);
  }

  /**
   * The sum of the transaction ids that wrote the runs rows: a run's start, each commit of its loop
   * (which renews the lease in its row) and its end rewrite that row, so the sum moves. One scan of
   * the runs table (a row per run), and blind to other schemas' writes.
   */
  dataVersion(): number {
    const [row] = this.rows<{ version: number }>(
      'SELECT coalesce(sum(xmin::text::bigint), 0)::bigint AS version FROM runs',
    );
    return row?.version ?? 0;
  }

  /** LISTEN on a connection of its own for the notifications the store's writes send. */
  listen(changed: () => void, lost: (error: unknown) => void): Promise<{ close(): Promise<void> }> {
    return listenForChanges(this.settings, this.location, changed, lost);
  }
}

/** The URL with the server told to refuse any write on the connection (kept with the URL's own options). */
function readOnly(url: string): string {
  const parsed = new URL(url);
  const own = parsed.searchParams.get('options');
  const ours = '-c default_transaction_read_only=on';
  parsed.searchParams.set('options', own === null ? ours : `${own} ${ours}`);
  return parsed.toString();
}
