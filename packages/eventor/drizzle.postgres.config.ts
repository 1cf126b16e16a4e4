import { defineConfig } from 'drizzle-kit';

// schema-less migrations: the store runs them with search_path set to its own Postgres schema
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/postgres/schema.ts',
  out: './drizzle/postgres',
});
