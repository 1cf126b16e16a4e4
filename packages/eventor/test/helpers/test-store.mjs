// Which store the behaviour suites run on. The `eventor`, `sequent` and example projects use a
// SQLite file per test; their `*-postgres` twins (vitest.postgres.config.ts) run the same test files
// with FLOW_TEST_STORE=postgres, and then each test's store is a Postgres schema of its own in the
// project's database (FLOW_TEST_STORE_URL, made by postgres-global-setup.ts), dropped after the test.
// Plain JS, so that sequent's tests and the crash harness's scripts share it.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// pg is eventor's own dependency: resolved from the package, whoever imports this file
const pg = createRequire(new URL('../../package.json', import.meta.url))('pg');

export const storeKind = process.env.FLOW_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
export const onPostgres = storeKind === 'postgres';

const POSTGRES_URL = /^postgres(?:ql)?:/i;

/** A store of its own for one test: `dir/name` (SQLite), or a fresh schema (PostgreSQL). */
export function freshStore(dir, name = 'flow.run.db') {
  if (!onPostgres) {
    const store = join(dir, name);
    return { store, location: store, drop: async () => {} };
  }
  const url = new URL(databaseUrl());
  url.searchParams.set('schema', `t_${randomBytes(6).toString('hex')}`);
  const store = url.toString();
  return { store, location: locationOf(store), drop: () => dropStore(store) };
}

/** The store as the engine names it in messages: the URL, its password hidden (see store/location.ts). */
function locationOf(store) {
  return store.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@');
}

/** The database of this project's stores, set by postgres-store-setup.ts. */
function databaseUrl() {
  const url = process.env.FLOW_TEST_STORE_URL;
  if (url === undefined || url === '')
    throw new Error(
      'FLOW_TEST_STORE=postgres, but FLOW_TEST_STORE_URL is not set: run the suite through its ' +
        'vitest.postgres.config.ts project, whose setup makes the database.',
    );
  return url;
}

let admin;

/** Drops the Postgres schema a store URL names (a file store goes with its folder: nothing to do). */
export async function dropStore(store) {
  if (!POSTGRES_URL.test(store)) return;
  const url = new URL(store);
  const schema = url.searchParams.get('schema') ?? 'flow';
  url.searchParams.delete('schema');
  admin ??= new pg.Pool({ connectionString: url.toString(), max: 1, allowExitOnIdle: true });
  // a run still winding down may hold a row lock for a moment; the database goes after the project anyway
  await admin.query(`SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((error) => {
    console.warn(`[test-store] could not drop schema ${schema}: ${error.message}`);
  });
}
