/**
 * The run loop's connection pools, kept from store to store: a store that closes hands its pool
 * back, and the next store of the same database, schema and settings in this process takes it, its
 * connections (and the statements prepared on them) still open. A pool serves one store at a time;
 * its idle connections close by themselves after a while, and never keep the program alive.
 */
import type { Pool } from 'pg';
import { type ConnectionSettings, clientConfig } from './connection.js';

/** Connections of one store's pool: the run loop's commits, and lease renewals beside them. */
const POOL_SIZE = 4;
const IDLE_MS = 10_000;
const KEPT_PER_SETTINGS = 4;

const kept = new Map<string, Pool[]>();

/** A pool for `settings`: one handed back before, or a new one (pg is imported only then). */
export async function takePool(settings: ConnectionSettings): Promise<Pool> {
  const reused = kept.get(JSON.stringify(settings))?.pop();
  if (reused !== undefined) return reused;
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({
    ...clientConfig(pg, settings),
    max: POOL_SIZE,
    idleTimeoutMillis: IDLE_MS,
    // idle connections must not keep an ended program alive
    allowExitOnIdle: true,
  });
  // a connection lost while idle: the pool drops it, and the next query fails or reconnects
  pool.on('error', () => {});
  return pool;
}

/** Hands a store's pool back for the next store of the same settings (beyond a few, it is ended). */
export async function givePool(settings: ConnectionSettings, pool: Pool): Promise<void> {
  const key = JSON.stringify(settings);
  const list = kept.get(key) ?? [];
  if (list.length >= KEPT_PER_SETTINGS) return pool.end();
  list.push(pool);
  kept.set(key, list);
}
