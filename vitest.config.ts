import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/** The examples whose tests run again on PostgreSQL: those that keep state in a store. */
const STORE_EXAMPLES = readdirSync('examples').filter(
  (dir) => /^(eventor|sequent)-/.test(dir) && existsSync(`examples/${dir}/vitest.config.ts`),
);

export default defineConfig({
  test: {
    projects: [
      'packages/*',
      'examples/*',
      // each package's behaviour suite again on PostgreSQL (vitest.postgres.config.ts), and each
      // example's tests, with FLOW_TEST_STORE_URL naming the database of their stores
      'packages/*/vitest.postgres.config.ts',
      ...STORE_EXAMPLES.map((dir) => ({
        extends: `./examples/${dir}/vitest.config.ts`,
        root: `./examples/${dir}`,
        test: {
          name: `example-${dir}-postgres`,
          env: { FLOW_TEST_STORE: 'postgres' },
          // in the group of the PostgreSQL projects (see packages/eventor/vitest.postgres.config.ts)
          sequence: { groupOrder: 1 },
          maxWorkers: Math.max(2, availableParallelism() - 1),
          globalSetup: ['../../packages/eventor/test/helpers/postgres-global-setup.ts'],
          setupFiles: ['../../packages/eventor/test/helpers/postgres-store-setup.ts'],
        },
      })),
    ],
  },
});
