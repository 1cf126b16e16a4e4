import type { ResourceClaim } from '../model/step.js';

/** Takes every claim or none, so two tasks never deadlock holding half of what they need. */
export function tryAcquireAll(claims: readonly ResourceClaim[]): boolean {
  for (const [pool, amount] of claims) if (pool.available < amount) return false;
  for (const [pool, amount] of claims) pool.tryTake(amount);
  return true;
}

export function releaseAll(claims: readonly ResourceClaim[]): void {
  for (const [pool, amount] of claims) if (amount > 0) pool.give(amount);
}
