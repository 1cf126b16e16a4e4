/** Opening a SQLite store file: WAL mode and the shipped migrations, safe with many processes at once. */
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { type MigrationMeta, readMigrationFiles } from 'drizzle-orm/migrator';
import { isBusy } from './errors.js';
import { refuseNewerSchema } from './queries.js';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle/sqlite', import.meta.url));

/**
 * Puts the file in WAL mode. The switch needs a moment of exclusive access, and SQLite does not wait
 * for it (its busy handler is not called): while another process opening the same new file holds a
 * lock, it fails at once with SQLITE_BUSY. So it is retried here, for up to busyTimeout. It runs
 * outside any transaction, since SQLite cannot change the journal mode inside one.
 */
export function switchToWal(sqlite: Database.Database, busyTimeoutMs: number): void {
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

const MIGRATIONS_TABLE = '__drizzle_migrations';

/** The migrations this package ships, read once per process. */
let shippedMigrations: MigrationMeta[] | undefined;

/**
 * Applies the shipped migrations not yet in the store, as drizzle's `migrate` does (same bookkeeping
 * table, so either can go on from the other), but under a write lock taken before the applied ones are
 * read: drizzle reads them first and locks later, so processes opening a new file together all saw an
 * empty store and all but one failed on `CREATE TABLE`. A store already up to date takes no lock.
 */
export function applyMigrations(sqlite: Database.Database, path: string): void {
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
