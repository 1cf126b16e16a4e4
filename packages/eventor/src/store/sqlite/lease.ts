/**
 * A run's lease in a SQLite store: who holds it (host, pid, token), until when, and the one statement
 * that both renews it and proves it is still the holder's (the fencing every commit runs first).
 */
import { hostname } from 'node:os';
import type Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import type { RunRow } from '../types.js';

/** Tokens of leases held by live Eventor objects of this process, so two of them cannot drive one run. */
export const leasesHeldHere = new Set<string>();

/**
 * True while a live holder has the run: none when it names no pid; for this process's own pid, its
 * live Eventor objects decide; one silent past its expiry has lapsed, on any host; another host's
 * holder is otherwise taken as live (it cannot be probed); on this host the pid is probed, so a
 * killed holder's lease lapses at once.
 */
export function leaseHolderAlive(run: RunRow, now: number, heldHere?: ReadonlySet<string>): boolean {
  if (run.leasePid === null) return false;
  const here = run.leaseHost === hostname();
  if (here && heldHere && run.leasePid === process.pid)
    return run.leaseToken !== null && heldHere.has(run.leaseToken);
  if (run.leaseExpiresAt !== null && run.leaseExpiresAt <= now) return false;
  if (!here) return true;
  try {
    process.kill(run.leasePid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

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
