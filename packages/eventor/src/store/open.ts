import { SqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

export interface StoreOptions {
  /** How long a write waits for another process's write lock (file stores). */
  busyTimeoutMs?: number | undefined;
}

/** Opens the store a `store` option names: a file path (or ':memory:') is a SQLite store. */
export function openStore(location: string, options: StoreOptions = {}): Store {
  return SqliteStore.open(location, options);
}
