import type { ResourcePool } from '../model/resource-pool.js';
import type { ResourceClaim } from '../model/step.js';

/**
 * What one run holds of each pool, so it can tell resources it keeps itself (`releases: []`) from
 * resources that another eventor sharing the pool will give back.
 */
export class ResourceLedger {
  private readonly held = new Map<ResourcePool, number>();
  /** Counts releases, so a scan of waiting tasks can tell that resources came back during it. */
  releases = 0;

  /** Takes every claim or none, so two tasks never deadlock holding half of what they need. */
  tryAcquireAll(claims: readonly ResourceClaim[]): boolean {
    for (const [pool, amount] of claims) if (pool.available < amount) return false;
    for (const [pool, amount] of claims) {
      pool.tryTake(amount);
      this.held.set(pool, (this.held.get(pool) ?? 0) + amount);
    }
    return true;
  }

  releaseAll(claims: readonly ResourceClaim[]): void {
    for (const [pool, amount] of claims) {
      if (amount <= 0) continue;
      this.releases += 1;
      this.held.set(pool, Math.max(0, (this.held.get(pool) ?? 0) - amount));
      pool.give(amount);
    }
  }

  /** True when someone outside this run holds part of the pool (and may give it back). */
  heldElsewhere(pool: ResourcePool): boolean {
    return pool.used > (this.held.get(pool) ?? 0);
  }
}
