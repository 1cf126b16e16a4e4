/**
 * Which store the behaviour suites run on. The `eventor`, `sequent` and example projects use a
 * SQLite file per test; their `*-postgres` twins (vitest.postgres.config.ts) run the same test files
 * with FLOW_TEST_STORE=postgres, and then each test's store is a Postgres schema of its own in the
 * project's database (postgres-global-setup.ts), dropped when the test ends.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { parseStoreLocation } from '../../src/store/location.js';

export type TestStoreKind = 'sqlite' | 'postgres';

/** The store kind of this test project. */
export const storeKind: TestStoreKind = process.env.FLOW_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
export const onPostgres = storeKind === 'postgres';

export interface TestStore {
  /** The `store` option: a file path, or a postgres: URL naming a fresh schema. */
  readonly store: string;
  /** The store as messages and logs name it (a URL with its password hidden). */
  readonly location: string;
  /** Removes the store (the file goes with its folder; a schema is dropped). */
  drop(): Promise<void>;
}

/** A store of its own for one test: `dir/name` (SQLite), or a fresh schema (PostgreSQL). */
export function freshStore(dir: string, name = 'flow.run.db'): TestStore {
  if (!onPostgres) {
    const store = join(dir, name);
    return { store, location: store, drop: async () => {} };
  }
  const url = new URL(databaseUrl());
  const schema = `t_${randomBytes(6).toString('hex')}`;
  url.searchParams.set('schema', schema);
  const store = url.toString();
  const parsed = parseStoreLocation(store);
  const location = parsed.kind === 'postgres' ? parsed.display : store;
  return { store, location, drop: () => dropSchema(schema) };
}

/** The database of this project's stores, set by postgres-store-setup.ts. */
function databaseUrl(): string {
  const url = process.env.FLOW_TEST_STORE_URL;
  if (url === undefined || url === '')
    throw new Error(
      'FLOW_TEST_STORE=postgres, but FLOW_TEST_STORE_URL is not set: run the suite through its ' +
        'vitest.postgres.config.ts project, whose setup makes the database.',
    );
  return url;
}

let admin: pg.Pool | undefined;

async function dropSchema(schema: string): Promise<void> {
  admin ??= new pg.Pool({ connectionString: databaseUrl(), max: 1, allowExitOnIdle: true });
  // a run still winding down may hold a row lock for a moment; the database goes after the project anyway
  await admin.query(`SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((error) => {
    console.warn(`[test-store] could not drop schema ${schema}: ${(error as Error).message}`);
  });
}
