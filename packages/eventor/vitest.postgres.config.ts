import { availableParallelism } from 'node:os';
import { defineProject } from 'vitest/config';

/**
 * The behaviour suite again, on PostgreSQL: the same test files as the `eventor` project, each
 * test's store a Postgres schema of its own (test/helpers/test-store.mjs). Files that look at the
 * SQLite file itself, or drive the `eventor` command or ui (which read files), stay in `eventor`
 * only, as do those that use no store at all; test/store/ holds each store's own tests.
 */
export const POSTGRES_BEHAVIOUR = [
  'test/run-loop.test.ts',
  'test/run-passes.test.ts',
  'test/triggers.test.ts',
  'test/delays.test.ts',
  'test/expressions.test.ts',
  'test/policies.test.ts',
  'test/resources.test.ts',
  'test/concurrency.test.ts',
  'test/continue.test.ts',
  'test/recovery.test.ts',
  'test/current-step.test.ts',
  'test/results.test.ts',
  'test/errors.test.ts',
  'test/logging.test.ts',
  'test/test-clock.test.ts',
  'test/regressions.test.ts',
  'test/types.test.ts',
  'test/reliability-long-durations.test.ts',
  'test/reliability-shared-store.test.ts',
  'test/reliability-recovery-cost.test.ts',
  'test/reliability-hostile-run.test.ts',
  'test/crash.test.ts',
  'test/runners-command.test.ts',
  'test/runners-process.test.ts',
  'test/runners-worker.test.ts',
  'test/runners-mixed.test.ts',
  'test/definition-changes.test.ts',
  'test/leases.test.ts',
  'test/reliability-crash.test.ts',
  'test/reliability-many-processes.test.ts',
  'test/runners-orphans.test.ts',
  'test/reliability-hostile-definitions.test.ts',
  'test/reliability-properties.test.ts',
  'test/progress.test.ts',
  'test/step-entry.test.ts',
  'test/results-roundtrip.test.ts',
  'test/reliability-store-processes.test.ts',
  'test/store-runs.test.ts',
];

export default defineProject({
  test: {
    name: 'eventor-postgres',
    include: POSTGRES_BEHAVIOUR,
    testTimeout: 30_000,
    env: { FLOW_TEST_STORE: 'postgres' },
    // the PostgreSQL projects run after the others, in a group of their own (the same in all of
    // them), two files at a time even on a two-CPU machine: much of their time is spent waiting
    sequence: { groupOrder: 1 },
    maxWorkers: Math.max(2, availableParallelism() - 1),
    globalSetup: ['test/helpers/postgres-global-setup.ts'],
    setupFiles: ['test/helpers/postgres-store-setup.ts'],
  },
});
