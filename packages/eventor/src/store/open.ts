import { parseStoreLocation, type StoreOption } from './location.js';
import { PostgresStore } from './postgres/store.js';
import { SqliteStore } from './sqlite/store.js';
import type { Store } from './types.js';

export interface StoreOptions {
  /** How long a write waits for another process's write lock (file stores), or for a row lock (PostgreSQL). */
  busyTimeoutMs?: number | undefined;
}

/**
 * Opens the store a `store` option names: a file path (a `file:` URL, or ':memory:') is a SQLite
 * store; a `postgres:`/`postgresql:` URL, or `{ url, schema }`, a PostgreSQL store.
 */
export function openStore(location: StoreOption, options: StoreOptions = {}): Store {
  const target = parseStoreLocation(location);
  if (target.kind === 'postgres') return PostgresStore.open(target, options);
  return SqliteStore.open(target.path, options);
}
