import { availableParallelism } from 'node:os';
import { defineProject } from 'vitest/config';

/**
 * sequent's behaviour suite again, on PostgreSQL: the same test files as the `sequent` project,
 * each test's store a Postgres schema of its own (eventor's test/helpers/test-store.mjs), the
 * server eventor's test setup starts for the whole run.
 */
export default defineProject({
  test: {
    name: 'sequent-postgres',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    env: { FLOW_TEST_STORE: 'postgres' },
    // the PostgreSQL projects run after the others, in a group of their own (the same in all of
    // them), two files at a time even on a two-CPU machine: much of their time is spent waiting
    sequence: { groupOrder: 1 },
    maxWorkers: Math.max(2, availableParallelism() - 1),
    globalSetup: ['../eventor/test/helpers/postgres-global-setup.ts'],
    setupFiles: ['../eventor/test/helpers/postgres-store-setup.ts'],
  },
});
