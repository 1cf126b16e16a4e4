/**
 * A database of its own for each test file on the test run's PostgreSQL (postgres-global-setup.ts),
 * and a Postgres schema of its own for each store a test asks for, so files and tests never see
 * each other's runs. The database is made before the file's tests and dropped after them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';

export interface TestDatabase {
  /** The database's URL (no schema: a store on it uses `flow`). */
  readonly url: string;
  /** A store URL naming a fresh schema (`?schema=<prefix>_<n>_<random>`). */
  store(prefix?: string): string;
  /** Runs SQL on the database as the admin user (to look at a store's rows, or to damage it). */
  query<T = Record<string, unknown>>(text: string, values?: unknown[]): Promise<T[]>;
}

/** Call once at the top of a test file. */
export function testDatabase(label: string): TestDatabase {
  const admin = inject('postgresUrl');
  const name = `flow_${label.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
  const url = new URL(admin);
  url.pathname = `/${name}`;
  let client: pg.Client | undefined;
  const asAdmin = async (text: string) => {
    const root = new pg.Client(admin);
    await root.connect();
    try {
      await root.query(text);
    } finally {
      await root.end();
    }
  };
  beforeAll(async () => {
    await asAdmin(`CREATE DATABASE "${name}"`);
    client = new pg.Client(url.toString());
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await asAdmin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
  let stores = 0;
  return {
    url: url.toString(),
    store(prefix = 's') {
      stores += 1;
      const store = new URL(url);
      store.searchParams.set('schema', `${prefix}_${stores}_${randomBytes(3).toString('hex')}`);
      return store.toString();
    },
    async query<T>(text: string, values: unknown[] = []) {
      if (client === undefined) throw new Error('testDatabase(): query() before the database was made');
      return (await client.query(text, values)).rows as T[];
    },
  };
}

/** The schema a store URL of `store()` names. */
export function schemaOf(store: string): string {
  return new URL(store).searchParams.get('schema') ?? 'flow';
}
