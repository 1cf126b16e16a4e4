/**
 * A run's lease in a SQLite store (what it means is in ../lease.ts): the statements that take, renew
 * and release it, and the one that both renews it and proves it is still the holder's (the fencing
 * every commit runs first).
 */
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';

/** Statements of the lease: `renew` is also the fence, run first in every commit of the run loop. */
export function prepareLeaseStatements(
  db: Database.Database,
): Record<'take' | 'renew' | 'held' | 'release', Statement> {
  return {
    take: db.prepare(
      'UPDATE runs SET lease_pid = ?, lease_host = ?, lease_token = ?, lease_expires_at = ? WHERE id = ?',
    ),
    renew: db.prepare(
      'UPDATE runs SET lease_expires_at = ? WHERE id = ? AND lease_token = ? AND lease_pid IS NOT NULL',
    ),
    held: db.prepare('SELECT 1 FROM runs WHERE id = ? AND lease_token = ? AND lease_pid IS NOT NULL').pluck(),
    // the token stays as the last holder's: a holder taking the lease again can tell that another drove the run since
    release: db.prepare(
      'UPDATE runs SET lease_pid = NULL, lease_host = NULL, lease_expires_at = NULL WHERE id = ? AND lease_token = ?',
    ),
  };
}

export type LeaseStatements = Record<'take' | 'renew' | 'held' | 'release', Statement>;
