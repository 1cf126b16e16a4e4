/**
 * Opening a PostgreSQL store: its Postgres schema and the shipped migrations (drizzle/postgres),
 * applied once under an advisory lock so that many processes may open a new store at once. The
 * bookkeeping table is drizzle's own (`__drizzle_migrations`: hash, created_at), in the store's
 * schema, so drizzle's `migrate` with `migrationsSchema` could go on from it.
 */
import { fileURLToPath } from 'node:url';
import { type MigrationMeta, readMigrationFiles } from 'drizzle-orm/migrator';
import { StoreError } from '../../errors.js';
import type { SyncBridge } from './sync-bridge.js';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle/postgres', import.meta.url));
const MIGRATIONS_TABLE = '__drizzle_migrations';
/** The store's tables, as the shipped migrations make them. */
export const STORE_TABLES = ['delays', 'run_shapes', 'runs', 'tasks', 'triggers'];

let shippedMigrations: MigrationMeta[] | undefined;

export function shipped(): MigrationMeta[] {
  shippedMigrations ??= readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  return shippedMigrations;
}

interface SchemaState {
  exists: boolean;
  tables: string[];
  applied: Array<{ hash: string; createdAt: number }> | undefined;
}

/** Creates or upgrades the store in `schema`; refuses a newer store and a schema that is not a store. */
export function applyMigrations(db: SyncBridge, schema: string, location: string): void {
  const migrations = shipped();
  const latest = migrations.reduce((max, migration) => Math.max(max, migration.folderMillis), 0);
  const before = readState(db, schema);
  checkState(before, schema, location, migrations);
  if (before.applied !== undefined && lastApplied(before) >= latest) return;
  db.query({ text: 'BEGIN' });
  try {
    // one opener at a time per schema; the others find the work done when they get the lock
    db.query({
      text: 'SELECT pg_advisory_xact_lock(hashtext($1))',
      values: [`@flow/eventor migrate ${schema}`],
    });
    const state = readState(db, schema);
    checkState(state, schema, location, migrations);
    if (!state.exists) db.query({ text: `CREATE SCHEMA "${schema}"` });
    db.query({
      text: `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
    });
    const applied = state.applied === undefined ? 0 : lastApplied(state);
    for (const migration of migrations) {
      if (migration.folderMillis <= applied) continue;
      const statements = migration.sql.filter((statement) => statement.trim() !== '');
      db.query(...statements.map((text) => ({ text })), {
        text: `INSERT INTO "${MIGRATIONS_TABLE}" (hash, created_at) VALUES ($1, $2)`,
        values: [migration.hash, migration.folderMillis],
      });
    }
    db.query({ text: 'COMMIT' });
  } catch (error) {
    try {
      db.query({ text: 'ROLLBACK' });
    } catch {
      // the connection is gone: so is the transaction
    }
    throw error;
  }
}

/**
 * For a reader, which never migrates: refuses `schema` as applyMigrations refuses it (a newer or a
 * foreign store), and says whether a store is there at all (false: no schema, or an empty one).
 */
export function checkReadable(db: SyncBridge, schema: string, location: string): { store: boolean } {
  const state = readState(db, schema);
  checkState(state, schema, location, shipped());
  return { store: state.applied !== undefined };
}

function lastApplied(state: SchemaState): number {
  return (state.applied ?? []).reduce((max, row) => Math.max(max, row.createdAt), 0);
}

function readState(db: SyncBridge, schema: string): SchemaState {
  const [found] = db.query({
    text: `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found,
                  coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')), '{}') AS tables`,
    values: [schema],
  });
  const row = found?.rows[0] as { found: boolean; tables: string[] };
  if (!row.tables.includes(MIGRATIONS_TABLE))
    return { exists: row.found, tables: row.tables, applied: undefined };
  const [applied] = db.query({
    text: `SELECT hash, created_at AS "createdAt" FROM "${MIGRATIONS_TABLE}" ORDER BY created_at, id`,
  });
  return {
    exists: row.found,
    tables: row.tables,
    applied: (applied?.rows ?? []) as Array<{ hash: string; createdAt: number }>,
  };
}

/** Refuses a schema from a newer release, and one whose tables are not a flow store's. */
function checkState(state: SchemaState, schema: string, location: string, migrations: MigrationMeta[]): void {
  const latest = migrations.reduce((max, migration) => Math.max(max, migration.folderMillis), 0);
  const known = new Map(migrations.map((migration) => [migration.folderMillis, migration.hash]));
  const applied = state.applied ?? [];
  // another tool's tables, or another drizzle project's bookkeeping: migrations flow never shipped
  const foreign =
    state.applied === undefined
      ? state.tables.length > 0
      : applied.some((row) => row.createdAt <= latest && known.get(row.createdAt) !== row.hash) ||
        (applied.length > 0 && !applied.some((row) => known.get(row.createdAt) === row.hash));
  if (foreign) {
    const tables = state.tables.slice(0, 8).join(', ') + (state.tables.length > 8 ? ', …' : '');
    throw new StoreError(
      `The Postgres schema "${schema}" at "${location}" is not a flow store: it holds tables that flow did not make ` +
        `(${tables}${state.applied === undefined ? '' : `; its ${MIGRATIONS_TABLE} lists migrations flow does not ship`}). ` +
        `Give flow a schema of its own: ?schema=name in the URL, or { url, schema: 'name' } as the store option.`,
      { code: 'FLOW_STORE_NOT_A_STORE' },
    );
  }
  const newest = lastApplied(state);
  if (newest > latest) {
    throw new StoreError(
      `The store at "${location}" was written by a newer version of @flow/eventor (schema from ${new Date(newest).toISOString()}, ` +
        `this version knows schemas up to ${new Date(latest).toISOString()}). Upgrade @flow/eventor to use it.`,
      { code: 'FLOW_STORE_NEWER' },
    );
  }
}
