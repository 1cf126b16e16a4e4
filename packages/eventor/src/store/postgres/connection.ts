/**
 * How both sides of a PostgreSQL store connect (the worker thread that serves the synchronous
 * calls, and the pool of the run loop): `search_path` set to the store's schema at connection
 * start (no extra round trip), lock waits bounded by `busyTimeout`, and bigint read as a number.
 * Only types here, and plain data: it crosses into the worker as `workerData`.
 */
import type { ClientConfig } from 'pg';

export interface ConnectionSettings {
  /** The URL for the driver (without `schema`). */
  url: string;
  schema: string;
  connectTimeoutMs: number;
  lockTimeoutMs: number;
}

/** How long connecting may take before it counts as failed. */
export const CONNECT_TIMEOUT_MS = 10_000;

const INT8 = 20;

/** The pg ClientConfig for `settings`; `pg` is the loaded module (its default type parsers). */
export function clientConfig(
  pg: { types: { getTypeParser: (oid: number, format?: 'text' | 'binary') => unknown } },
  settings: ConnectionSettings,
): ClientConfig {
  // the URL's own `options` would replace ours (pg lets the connection string win): keep both
  const url = new URL(settings.url);
  const own = url.searchParams.get('options');
  url.searchParams.delete('options');
  const ours = `-c search_path=${settings.schema} -c lock_timeout=${Math.max(1, Math.round(settings.lockTimeoutMs))}`;
  return {
    connectionString: url.toString(),
    connectionTimeoutMillis: settings.connectTimeoutMs,
    application_name: '@flow/eventor',
    options: own === null ? ours : `${own} ${ours}`,
    // times are ms since epoch in bigint columns: exact as a JS number for 285,000 years
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 && format !== 'binary'
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as never,
    },
  };
}
