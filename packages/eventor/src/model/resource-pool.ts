import { formatValue } from '../describe.js';
import { FlowConfigError } from '../errors.js';

/**
 * A counted pool of resources (connections, licences, GPUs). Tasks acquire before they start and
 * release when they end. A pool may be shared by several eventors in one process.
 */
export class ResourcePool {
  readonly name: string;
  /** Number of resources; < 0 means unlimited. */
  readonly limit: number;
  private inUse = 0;
  private readonly listeners = new Set<() => void>();

  constructor(name: string, options: { limit?: number } = {}) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new FlowConfigError(`ResourcePool needs a non-empty name; got ${formatValue(name)}.`);
    }
    if (typeof options !== 'object' || options === null) {
      throw new FlowConfigError(
        `ResourcePool "${name}": options must be an object such as { limit: 2 }; got ${formatValue(options)}.`,
      );
    }
    const limit = options.limit ?? -1;
    if (!Number.isInteger(limit)) {
      throw new FlowConfigError(
        `ResourcePool "${name}": limit must be an integer (< 0 = unlimited); got ${limit}.`,
      );
    }
    this.name = name;
    this.limit = limit;
  }

  get available(): number {
    return this.limit < 0 ? Number.POSITIVE_INFINITY : this.limit - this.inUse;
  }

  get used(): number {
    return this.inUse;
  }

  /** @internal Takes `amount` if available now; returns whether it did. */
  tryTake(amount: number): boolean {
    if (this.limit >= 0 && this.inUse + amount > this.limit) return false;
    this.inUse += amount;
    return true;
  }

  /** @internal Gives `amount` back (never below zero in use) and wakes waiters. */
  give(amount: number): void {
    this.inUse = Math.max(0, this.inUse - amount);
    for (const listener of this.listeners) listener();
  }

  /** @internal */
  onRelease(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
