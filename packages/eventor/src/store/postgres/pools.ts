/**
 * The run loop's connection pool of one store. A pool is not handed on to the next store: the
 * plans its connections cached for the commit statements were made for the tables as they were
 * (see commit-sql.ts), and a new store may find them many times bigger.
 */
import type { Pool } from 'pg';
import { type ConnectionSettings, clientConfig } from './connection.js';

/** Connections of one store's pool: the run loop's commits, and lease renewals beside them. */
const POOL_SIZE = 4;

/** A new pool for `settings` (pg is imported only then). */
export async function newPool(settings: ConnectionSettings): Promise<Pool> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    ...clientConfig(pg, settings),
    max: POOL_SIZE,
    // idle connections must not keep an ended program alive
    allowExitOnIdle: true,
  });
  // a connection lost while idle: the pool drops it, and the next query fails or reconnects
  pool.on('error', () => {});
  return pool;
}
