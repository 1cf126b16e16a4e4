/**
 * The read-only queries both sides of a SQLite store need, the engine's Store and the inspect
 * reader, so that neither restates them and the reader never depends on the writer.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { desc, eq, getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { StoreError } from '../../errors.js';
import * as schema from './schema.js';

type Db = BetterSQLite3Database<typeof schema>;
type Run = typeof schema.runs.$inferSelect & { shape: string | null };

const JOURNAL = fileURLToPath(new URL('../../../drizzle/sqlite/meta/_journal.json', import.meta.url));

/**
 * The columns of a run to read, its shape from `run_shapes`. A reader of a store not yet migrated
 * passes its own: later columns read as NULL, the shape from where that store keeps it.
 */
export type RunColumns = ReturnType<typeof getTableColumns<typeof schema.runs>> & {
  shape: SQL.Aliased<string | null>;
};

export function runColumnsWithShape(shape: SQL<string | null> = shapeOfRun): RunColumns {
  return { ...getTableColumns(schema.runs), shape: shape.as('shape') };
}

const shapeOfRun = sql<
  string | null
>`(SELECT ${schema.runShapes.shape} FROM ${schema.runShapes} WHERE ${schema.runShapes.runId} = ${schema.runs.id})`;

export function getRun(db: Db, id: string, columns: RunColumns = runColumnsWithShape()): Run | undefined {
  return db.select(columns).from(schema.runs).where(eq(schema.runs.id, id)).get();
}

/** The run most recently started, optionally restricted to one flow name. */
export function latestRun(
  db: Db,
  name?: string,
  columns: RunColumns = runColumnsWithShape(),
): Run | undefined {
  const query = db.select(columns).from(schema.runs);
  const filtered = name === undefined ? query : query.where(eq(schema.runs.name, name));
  return filtered.orderBy(desc(schema.runs.startedAt), desc(schema.runs.id)).limit(1).get();
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
  const journal = JSON.parse(readFileSync(JOURNAL, 'utf8')) as {
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
