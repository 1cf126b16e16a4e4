/**
 * What every store's lease means: who holds a run (host, pid, token), and whether that holder is
 * still alive. Each database keeps the lease in its `runs` row; the statements are its own.
 */
import { hostname } from 'node:os';
import type { RunRow } from './types.js';

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

/** The StoreError message of a run whose lease a live holder has. */
export function leaseInUseMessage(run: RunRow, location: string): string {
  return (
    `Run "${run.id}" in "${location}" is in use by a live process (pid ${run.leasePid} on ${run.leaseHost}). ` +
    `Wait for it to finish or stop it, then recover or continue; or start a new run with runMode 'restart'.`
  );
}
