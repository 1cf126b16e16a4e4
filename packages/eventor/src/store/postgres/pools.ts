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
/** Pools kept in all: a process that opens many stores (schemas) in turn keeps only the latest. */
const KEPT = 4;

const kept: Array<{ key: string; pool: Pool }> = [];

/** A pool for `settings`: one handed back before, or a new one (pg is imported only then). */
export async function takePool(settings: ConnectionSettings): Promise<Pool> {
  const key = JSON.stringify(settings);
  let index = kept.length - 1;
  while (index >= 0 && kept[index]?.key !== key) index -= 1;
  if (index >= 0) return (kept.splice(index, 1)[0] as { pool: Pool }).pool;
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

/** Hands a store's pool back for the next store of the same settings; the oldest kept one is ended. */
export async function givePool(settings: ConnectionSettings, pool: Pool): Promise<void> {
  kept.push({ key: JSON.stringify(settings), pool });
  if (kept.length > KEPT) await kept.shift()?.pool.end();
}
