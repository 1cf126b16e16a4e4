import { parseStoreLocation } from '../store/location.js';
import { PostgresReader } from './postgres-reader.js';
import type { Reader } from './reader.js';
import { SqliteReader } from './sqlite-reader.js';

/**
 * Opens the store `location` names read-only: a file path (or `file:` URL) is a SQLite store, a
 * `postgres:`/`postgresql:` URL (`?schema=name`, default flow) a PostgreSQL one. FlowConfigError
 * for a URL that cannot be read (naming `argument`); StoreError when the store is not there.
 */
export function openReader(location: string, argument = 'store'): Reader {
  const target = parseStoreLocation(location, argument);
  return target.kind === 'postgres' ? PostgresReader.open(target) : SqliteReader.open(target.path);
}
