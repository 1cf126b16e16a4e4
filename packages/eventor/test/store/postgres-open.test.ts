import { execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { Eventor, FlowConfigError, StoreError } from '../../src/index.js';
import { assertDistIsCurrent } from '../helpers/child.js';
import { schemaOf, testDatabase } from '../helpers/postgres.js';

const db = testDatabase('open');
const MIGRATIONS = fileURLToPath(new URL('../../drizzle/postgres', import.meta.url));
const shipped = readMigrationFiles({ migrationsFolder: MIGRATIONS });

/** What `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

function open(store: string | { url: string; schema?: string }, options = {}): Eventor {
  return new Eventor({ name: 'open', store, logLevel: 'silent', ...options });
}

async function tablesOf(schema: string): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
    [schema],
  );
  return rows.map((row) => row.name);
}

describe('opening a PostgreSQL store', () => {
  it("creates its tables in the schema 'flow' by default, and records the shipped migrations", async () => {
    const ev = open(db.url);
    ev.close();
    expect(await tablesOf('flow')).toEqual([
      '__drizzle_migrations',
      'delays',
      'run_shapes',
      'runs',
      'tasks',
      'triggers',
    ]);
    const applied = await db.query<{ hash: string; created_at: string }>(
      'SELECT hash, created_at FROM flow.__drizzle_migrations ORDER BY id',
    );
    expect(applied.map((row) => [row.hash, Number(row.created_at)])).toEqual(
      shipped.map((migration) => [migration.hash, migration.folderMillis]),
    );
  });

  it('puts the tables in the schema ?schema= names, or { url, schema } names, and keeps their runs apart', async () => {
    const inUrl = db.store('url');
    const a = open(inUrl);
    a.triggerEvent(a.addEvent('go'));
    const runA = a.runId;
    a.close();
    const b = open({ url: db.url, schema: 'by_option' });
    b.triggerEvent(b.addEvent('go'));
    b.close();
    expect(await tablesOf(schemaOf(inUrl))).toContain('runs');
    expect(await tablesOf('by_option')).toContain('runs');
    const inA = await db.query<{ id: string }>(`SELECT id FROM ${schemaOf(inUrl)}.runs`);
    expect(inA.map((row) => row.id)).toEqual([runA]);
    const again = open(inUrl, { runMode: 'continue' });
    expect(again.runId).toBe(runA);
    again.close();
  });

  it('opens a store already up to date without applying anything again', async () => {
    const store = db.store('again');
    open(store).close();
    open(store).close();
    const rows = await db.query(`SELECT * FROM ${schemaOf(store)}.__drizzle_migrations`);
    expect(rows).toHaveLength(shipped.length);
  });

  it('lets several processes open a new store at once: one creates it, all open it', async () => {
    assertDistIsCurrent();
    const store = db.store('race');
    const script = `import { Eventor } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
      const ev = new Eventor({ name: 'race', store: process.argv[1], logLevel: 'silent' });
      ev.triggerEvent(ev.addEvent('go'));
      ev.close();`;
    const children = Array.from(
      { length: 4 },
      () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, store], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
          });
          child.on('exit', (code) => (code === 0 ? resolve('ok') : reject(new Error(stderr))));
        }),
    );
    expect(await Promise.all(children)).toEqual(['ok', 'ok', 'ok', 'ok']);
    const runs = await db.query(`SELECT id FROM ${schemaOf(store)}.runs`);
    expect(runs).toHaveLength(4);
    expect(await db.query(`SELECT * FROM ${schemaOf(store)}.__drizzle_migrations`)).toHaveLength(
      shipped.length,
    );
  });
});

/** A TCP port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address() as { port: number };
      probe.close(() => resolve(address.port));
    });
  });
}

describe('a PostgreSQL store that cannot be used', () => {
  it('refuses a store written by a newer release, saying to upgrade', async () => {
    const store = db.store('newer');
    open(store).close();
    const later = Math.max(...shipped.map((migration) => migration.folderMillis)) + 86_400_000;
    await db.query(
      `INSERT INTO ${schemaOf(store)}.__drizzle_migrations (hash, created_at) VALUES ('future', $1)`,
      [later],
    );
    const error = thrown(() => open(store));
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('FLOW_STORE_NEWER');
    expect(error.message).toMatch(/newer version of @flow\/eventor .* Upgrade @flow\/eventor/);
  });

  it('refuses a schema whose tables another program made, naming them and saying to pick another schema', async () => {
    const store = db.store('foreign');
    const schema = schemaOf(store);
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(`CREATE TABLE ${schema}.runs (id int PRIMARY KEY, owner text)`);
    await db.query(`CREATE TABLE ${schema}.invoices (id int PRIMARY KEY)`);
    const error = thrown(() => open(store));
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('FLOW_STORE_NOT_A_STORE');
    expect(error.message).toContain(`"${schema}"`);
    expect(error.message).toContain('invoices, runs');
    expect(error.message).toContain('?schema=name');
    // nothing was added to it
    expect(await tablesOf(schema)).toEqual(['invoices', 'runs']);
  });

  it("refuses a schema whose migrations table is another drizzle project's", async () => {
    const store = db.store('drizzle');
    const schema = schemaOf(store);
    await db.query(`CREATE SCHEMA ${schema}`);
    await db.query(
      `CREATE TABLE ${schema}.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
    );
    await db.query(
      `INSERT INTO ${schema}.__drizzle_migrations (hash, created_at) VALUES ('theirs', 1700000000000)`,
    );
    const error = thrown(() => open(store));
    expect(error.code).toBe('FLOW_STORE_NOT_A_STORE');
    expect(error.message).toContain('lists migrations flow does not ship');
  });

  it('says no server answered for a URL to nothing, at once and with the password hidden', async () => {
    const port = await closedPort();
    const started = Date.now();
    const error = thrown(() => open(`postgres://etl:s3cret@127.0.0.1:${port}/flows`));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('FLOW_STORE_OPEN');
    expect(error.message).toContain(`"postgres://etl:***@127.0.0.1:${port}/flows?schema=flow"`);
    expect(error.message).toContain('no PostgreSQL server answered there');
    expect(error.message).not.toContain('s3cret');
  });

  it('says the database does not exist, and how to make it', () => {
    const url = new URL(db.url);
    url.pathname = '/no_such_database';
    const error = thrown(() => open(url.toString()));
    expect(error.code).toBe('FLOW_STORE_OPEN');
    expect(error.message).toContain('that database does not exist on the server');
    expect(error.message).toContain('createdb');
  });

  it('says the server refused the login for a wrong password', () => {
    const url = new URL(db.url);
    url.password = 'wrong';
    const error = thrown(() => open(url.toString()));
    expect(error.code).toBe('FLOW_STORE_OPEN');
    expect(error.message).toContain('the server refused the login');
    expect(error.message).not.toContain(':wrong@');
  });

  it('rejects a schema name that is not a plain identifier, and two different schemas', () => {
    for (const store of [`${db.url}?schema=Bad-Name`, { url: db.url, schema: 'x; DROP TABLE runs' }]) {
      const error = thrown(() => open(store));
      expect(error).toBeInstanceOf(FlowConfigError);
      expect(error.message).toContain('lower-case name of letters, digits and _');
    }
    const error = thrown(() => open({ url: `${db.url}?schema=one`, schema: 'two' }));
    expect(error).toBeInstanceOf(FlowConfigError);
    expect(error.message).toContain('names two schemas');
  });

  it('rejects a store option that is neither a path nor a postgres URL', () => {
    for (const store of [{ url: 'mysql://x/y' }, { url: db.url, sslmode: 'require' }, 42]) {
      const error = thrown(() => open(store as never));
      expect(error).toBeInstanceOf(FlowConfigError);
      expect(error.message).toContain('Option "store" must be a file path');
    }
  });

  it('uses the server the test run started (or FLOW_TEST_POSTGRES_URL)', () => {
    expect(inject('postgresUrl')).toMatch(/^postgres:\/\//);
  });
});

const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A user's project with @flow/eventor and its dependencies installed, but not the optional peer `pg`. */
function projectWithoutPg(): string {
  const root = mkdtempSync(join(tmpdir(), 'eventor-no-pg-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const modules = join(root, 'node_modules');
  const eventor = join(modules, '@flow', 'eventor');
  mkdirSync(eventor, { recursive: true });
  for (const entry of ['package.json', 'dist', 'drizzle'])
    cpSync(join(PACKAGE_ROOT, entry), join(eventor, entry), { recursive: true });
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  for (const dependency of Object.keys(manifest.dependencies)) {
    mkdirSync(dirname(join(modules, dependency)), { recursive: true });
    symlinkSync(
      realpathSync(join(PACKAGE_ROOT, 'node_modules', dependency)),
      join(modules, dependency),
      'dir',
    );
  }
  writeFileSync(
    join(root, 'package.json'),
    '{ "name": "user-project", "private": true, "type": "module" }\n',
  );
  writeFileSync(
    join(root, 'open.mjs'),
    `import { Eventor } from '@flow/eventor';
try {
  new Eventor({ name: 'no-pg', store: process.argv[2], logLevel: 'silent' });
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message }));
}
`,
  );
  return root;
}

describe('a PostgreSQL store without the pg package', () => {
  it('throws StoreError saying to install pg, while file stores still work', () => {
    assertDistIsCurrent();
    const root = projectWithoutPg();
    const run = (store: string) =>
      JSON.parse(execFileSync(process.execPath, ['open.mjs', store], { cwd: root, encoding: 'utf8' })) as {
        name?: string;
        code?: string;
        message?: string;
        opened?: boolean;
      };
    const outcome = run(db.store('nopg'));
    expect(outcome).toMatchObject({ name: 'StoreError', code: 'FLOW_STORE_DRIVER' });
    expect(outcome.message).toContain('`pnpm add pg`');
    expect(outcome.message).toContain('optional peer dependency');
    expect(run(join(root, 'file.run.db'))).toEqual({ opened: true });
  });
});
