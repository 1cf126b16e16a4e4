import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // each package's behaviour suite on SQLite files, and again on PostgreSQL (vitest.postgres.config.ts)
    projects: ['packages/*', 'examples/*', 'packages/*/vitest.postgres.config.ts'],
  },
});
