/**
 * The read-only queries both sides of a SQLite store need, the engine's Store and the inspect
 * reader, so that neither restates them and the reader never depends on the writer.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { desc, eq } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { StoreError } from '../errors.js';
import * as schema from './schema.js';

type Db = BetterSQLite3Database<typeof schema>;
type Run = typeof schema.runs.$inferSelect;

const JOURNAL = fileURLToPath(new URL('../../drizzle/meta/_journal.json', import.meta.url));

export function getRun(db: Db, id: string): Run | undefined {
  return db.select().from(schema.runs).where(eq(schema.runs.id, id)).get();
}

/** The run most recently started, optionally restricted to one flow name. */
export function latestRun(db: Db, name?: string): Run | undefined {
  const query = db.select().from(schema.runs);
  const filtered = name === undefined ? query : query.where(eq(schema.runs.name, name));
  return filtered.orderBy(desc(schema.runs.startedAt), desc(schema.runs.id)).limit(1).get();
}

/**
 * True while a live process holds the run's lease: none when it names no pid; another machine's is
 * taken as live (it cannot be probed); on this host the pid is probed. For this process's own pid,
 * `heldHere` (the tokens its live Eventor objects hold), when given, decides instead of the probe.
 */
export function leaseHolderAlive(run: Run, heldHere?: ReadonlySet<string>): boolean {
  if (run.leasePid === null) return false;
  if (run.leaseHost !== hostname()) return true;
  if (heldHere && run.leasePid === process.pid)
    return run.leaseToken !== null && heldHere.has(run.leaseToken);
  try {
    process.kill(run.leasePid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
