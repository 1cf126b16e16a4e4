/** The Reader of a SQLite store file: read-only, through drizzle on better-sqlite3. */
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { and, asc, desc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { StoreError } from '../errors.js';
import {
  getRun,
  latestRun,
  type RunColumns,
  refuseNewerSchema,
  runColumnsWithShape,
} from '../store/sqlite/queries.js';
import * as schema from '../store/sqlite/schema.js';
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

/**
 * Read-only queries over a store file. It never writes and never creates a file: the engine's
 * `Store.open` applies migrations and switches on WAL, which a reader must not do to a store
 * another process may be running on.
 */
export class SqliteReader implements Reader {
  readonly location: string;
  private readonly sqlite: Database.Database;
  private readonly db: BetterSQLite3Database<typeof schema>;

  private constructor(path: string, sqlite: Database.Database) {
    this.location = path;
    this.sqlite = sqlite;
    this.db = drizzle(sqlite, { schema });
  }

  /** Opens `path` read-only; StoreError when it is missing, not an eventor store, or from a newer schema. */
  static open(path: string): SqliteReader {
    if (!existsSync(path)) {
      throw new StoreError(
        `No store file at "${path}". Give the path of a store an eventor or sequent run wrote, e.g. ./nightly.run.db.`,
        { code: 'FLOW_STORE_MISSING' },
      );
    }
    if (statSync(path).isDirectory()) {
      throw new StoreError(`"${path}" is a folder; give the path of a store file, e.g. ./nightly.run.db.`, {
        code: 'FLOW_STORE_OPEN',
      });
    }
    let sqlite: Database.Database;
    try {
      sqlite = new Database(path, { readonly: true, fileMustExist: true });
    } catch (cause) {
      throw new StoreError(`Cannot open the store at "${path}": ${(cause as Error).message}.`, {
        cause,
        code: 'FLOW_STORE_OPEN',
      });
    }
    try {
      sqlite.pragma('busy_timeout = 5000');
      checkReadableSchema(sqlite, path);
      return new SqliteReader(path, sqlite);
    } catch (cause) {
      sqlite.close();
      if (cause instanceof StoreError) throw cause;
      throw new StoreError(
        `Cannot read the store at "${path}": ${(cause as Error).message}. Is it an eventor store file (SQLite)?`,
        { cause, code: 'FLOW_STORE_OPEN' },
      );
    }
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }

  /** Every run, oldest first, with the tasks of its current recovery counted. */
  listRuns(): RunSummary[] {
    const runs = this.db
      .select(this.runColumns(false))
      .from(schema.runs)
      .orderBy(asc(schema.runs.startedAt), asc(schema.runs.id))
      .all();
    return this.summarize(runs, false);
  }

  /**
   * A page of runs, newest first, whose name or id contains `name` (any case) and whose state is
   * `state`; counts only the page's tasks, so a store of many runs answers at once.
   */
  listRunsPage(query: RunsPageQuery): { total: number; runs: RunSummary[] } {
    const conditions = [];
    if (query.name) {
      const pattern = `%${query.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      conditions.push(
        sql`(${schema.runs.name} LIKE ${pattern} ESCAPE '\\' OR ${schema.runs.id} LIKE ${pattern} ESCAPE '\\')`,
      );
    }
    // 'running' and 'interrupted' are both stored as running: tell them apart by the lease, in JS
    const live = query.state === 'running' || query.state === 'interrupted';
    if (query.state) conditions.push(eq(schema.runs.status, live ? 'running' : query.state));
    const where = conditions.length > 0 ? and(...conditions) : undefined;
    const order = [desc(schema.runs.startedAt), desc(schema.runs.id)];
    if (live) {
      const rows = this.db
        .select(this.runColumns(false))
        .from(schema.runs)
        .where(where)
        .orderBy(...order)
        .all();
      const matching = rows.filter((run) => runState(run) === query.state);
      const page = matching.slice(query.offset, query.offset + query.limit);
      return { total: matching.length, runs: this.summarize(page, true) };
    }
    const total = this.db.select({ n: sql<number>`count(*)` }).from(schema.runs).where(where).get()?.n ?? 0;
    const rows = this.db
      .select(this.runColumns(false))
      .from(schema.runs)
      .where(where)
      .orderBy(...order)
      .limit(query.limit)
      .offset(query.offset)
      .all();
    return { total, runs: this.summarize(rows, true) };
  }

  /** The runs with the tasks and delays of their current recovery counted (only theirs when `only`). */
  private summarize(runs: RunRow[], only: boolean): RunSummary[] {
    const ids = runs.map((run) => run.id);
    if (only && ids.length === 0) return [];
    const taskJoin = and(
      eq(schema.runs.id, schema.tasks.runId),
      eq(schema.runs.recovery, schema.tasks.recovery),
    );
    const counts = this.db
      .select({
        runId: schema.tasks.runId,
        success: sql<number>`sum(CASE WHEN ${schema.tasks.status} = 'success' AND ${schema.tasks.skipped} = 0 THEN 1 ELSE 0 END)`,
        failure: sql<number>`sum(CASE WHEN ${schema.tasks.status} = 'failure' THEN 1 ELSE 0 END)`,
        skipped: sql<number>`sum(CASE WHEN ${schema.tasks.status} = 'success' AND ${schema.tasks.skipped} = 1 THEN 1 ELSE 0 END)`,
        pending: sql<number>`sum(CASE WHEN ${schema.tasks.status} NOT IN ('success', 'failure') THEN 1 ELSE 0 END)`,
      })
      .from(schema.tasks)
      .innerJoin(schema.runs, taskJoin)
      .where(only ? inArray(schema.tasks.runId, ids) : undefined)
      .groupBy(schema.tasks.runId)
      .all();
    const byRun = new Map(counts.map((row) => [row.runId, row]));
    const delayConditions = [eq(schema.delays.fired, 0)];
    if (only) delayConditions.push(inArray(schema.delays.runId, ids));
    const delays = this.db
      .select({ runId: schema.delays.runId, pending: sql<number>`count(*)` })
      .from(schema.delays)
      .innerJoin(
        schema.runs,
        and(eq(schema.runs.id, schema.delays.runId), eq(schema.runs.recovery, schema.delays.recovery)),
      )
      .where(and(...delayConditions))
      .groupBy(schema.delays.runId)
      .all();
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

  /** SQLite's data_version: it moves whenever another connection commits, so a watcher can poll it cheaply. */
  dataVersion(): number {
    return this.sqlite.pragma('data_version', { simple: true }) as number;
  }

  getRun(id: string): RunRow | undefined {
    return getRun(this.db, id, this.runColumns());
  }

  /** The run most recently started (the engine's "latest run"). */
  latestRun(): RunRow | undefined {
    return latestRun(this.db, undefined, this.runColumns());
  }

  /** Tasks of a run, oldest first, optionally filtered (statuses from TASK_FILTER_STATUSES); `pending` in statuses stands for every unfinished one. */
  tasks(runId: string, filter: TaskFilter = {}): TaskRow[] {
    const conditions = [eq(schema.tasks.runId, runId)];
    if (filter.statuses && filter.statuses.length > 0) {
      const statuses = new Set<string>(filter.statuses);
      if (statuses.delete('pending')) for (const status of UNFINISHED) statuses.add(status);
      conditions.push(inArray(schema.tasks.status, [...statuses]));
    }
    if (filter.steps && filter.steps.length > 0)
      conditions.push(inArray(schema.tasks.step, [...filter.steps]));
    if (filter.recovery !== undefined) conditions.push(eq(schema.tasks.recovery, filter.recovery));
    return this.db
      .select(this.taskColumns)
      .from(schema.tasks)
      .where(and(...conditions))
      .orderBy(asc(schema.tasks.ord))
      .all() as TaskRow[];
  }

  /**
   * The task columns to read. A reader never migrates, so a store no engine of this version has
   * opened yet lacks the columns of later migrations (0002: `result_v8`, `child`): those read as NULL
   * (its results are all in `result`, as JSON).
   */
  private get taskColumns() {
    return this.presentColumns(schema.tasks, 'tasks');
  }

  /**
   * The run columns to read; as for tasks (0003: `lease_expires_at`, read as NULL: no expiry). The
   * shape is in `run_shapes` since 0004, in the run row before; lists of runs do not read it.
   */
  private runColumns(withShape = true): RunColumns {
    const columns = this.presentColumns(schema.runs, 'runs');
    const present = this.columnNames('runs');
    const shape = !withShape
      ? sql<string | null>`NULL`
      : present.has('shape')
        ? sql<string | null>`"runs"."shape"`
        : undefined;
    return { ...runColumnsWithShape(shape), ...columns } as RunColumns;
  }

  private columnNames(table: string): Set<unknown> {
    return new Set(this.sqlite.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all());
  }

  private presentColumns<T extends typeof schema.tasks | typeof schema.runs>(table: T, name: string) {
    const columns: Record<string, unknown> = { ...getTableColumns(table) };
    const present = this.columnNames(name);
    for (const [key, column] of Object.entries(getTableColumns(table))) {
      if (!present.has(column.name)) columns[key] = sql`NULL`;
    }
    return columns as ReturnType<typeof getTableColumns<T>>;
  }

  /** Events fired in a recovery of a run (optionally in one sequence), in firing order. */
  firedTriggers(runId: string, recovery: number, sequence?: string): TriggerRow[] {
    const conditions = [eq(schema.triggers.runId, runId), eq(schema.triggers.recovery, recovery)];
    if (sequence !== undefined) conditions.push(eq(schema.triggers.sequence, sequence));
    return this.db
      .select()
      .from(schema.triggers)
      .where(and(...conditions))
      .orderBy(asc(schema.triggers.ord))
      .all()
      .map((row) => ({
        event: row.event,
        sequence: row.sequence,
        recovery: row.recovery,
        ord: row.ord,
        acted: row.acted === 1,
        createdAt: row.createdAt,
      }));
  }

  /** Delays of a recovery of a run (optionally one sequence), fired or not, by due time. */
  delays(runId: string, recovery: number, sequence?: string): DelayInfo[] {
    const conditions = [eq(schema.delays.runId, runId), eq(schema.delays.recovery, recovery)];
    if (sequence !== undefined) conditions.push(eq(schema.delays.sequence, sequence));
    return this.db
      .select()
      .from(schema.delays)
      .where(and(...conditions))
      .orderBy(asc(schema.delays.dueAt), asc(schema.delays.id))
      .all()
      .map((row) => ({
        assoc: row.assoc,
        sequence: row.sequence,
        recovery: row.recovery,
        dueAt: row.dueAt,
        fired: row.fired === 1,
      }));
  }

  /** Delays of a run's recovery not yet fired, nearest first. */
  pendingDelays(runId: string, recovery: number): DelayInfo[] {
    return this.delays(runId, recovery).filter((delay) => !delay.fired);
  }
}

/** Refuses a file without eventor's tables, and one written by a newer schema than this package ships. */
function checkReadableSchema(sqlite: Database.Database, path: string): void {
  const tables = new Set(
    sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[],
  );
  const missing = ['runs', 'tasks', 'triggers', 'delays'].filter((name) => !tables.has(name));
  if (missing.length > 0) {
    throw new StoreError(
      `"${path}" is not an eventor store: it has no ${missing.join(', ')} table${missing.length > 1 ? 's' : ''}. ` +
        'Give the store file an eventor or sequent run wrote (the `store` option, default <name>.run.db).',
      { code: 'FLOW_STORE_NOT_EVENTOR' },
    );
  }
  refuseNewerSchema(sqlite, path);
}
