/**
 * Setup file of the `*-postgres` projects: hands the test file the project's database (made by
 * postgres-global-setup.ts) as FLOW_TEST_STORE_URL, where test-store.mjs and the examples' tests
 * make their stores. Child processes the tests start inherit it.
 */
import { inject } from 'vitest';

process.env.FLOW_TEST_STORE_URL = inject('postgresStoreUrl');
