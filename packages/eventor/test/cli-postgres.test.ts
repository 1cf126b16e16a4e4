// The eventor command over PostgreSQL stores: flows run for real by the Eventor (and by sequent) on
// a real PostgreSQL and, the same, on a SQLite file; then each command as a child process against
// the URL, its output compared with what it prints for the file.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { graphCommand } from '../src/cli/graph.js';
import { runsCommand } from '../src/cli/runs.js';
import { showCommand } from '../src/cli/show.js';
import { whyCommand } from '../src/cli/why.js';
import * as lib from '../src/index.js';
import { assertBuilt, eventor, eventorOk, parseTable, tempDir } from './fixtures-cli/cli.js';
import { buildDelayed, buildDemo, buildWaiting } from './fixtures-cli/flows.mjs';
import { batchFlow, nestedFlow } from './fixtures-tree/flows.mjs';
import { schemaOf, testDatabase } from './helpers/postgres.js';

const db = testDatabase('cli');

/** The same flow's store twice: a Postgres schema (its URL) and a file. */
interface Pair {
  url: string;
  file: string;
}

let dir: string;
const stores: Record<'demo' | 'waiting' | 'delayed' | 'etl' | 'nested', Pair> = {} as never;

async function both(label: keyof typeof stores, write: (store: string) => Promise<unknown>): Promise<void> {
  const pair = { url: db.store(label), file: join(dir, `${label}.run.db`) };
  await write(pair.url);
  await write(pair.file);
  stores[label] = pair;
}

async function demo(store: string): Promise<void> {
  let ev = buildDemo(lib, { store, param: -9 });
  await ev.run();
  ev.close();
  ev = buildDemo(lib, { store, param: 9, runMode: 'recover' });
  await ev.run();
  ev.close();
}

beforeAll(async () => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'eventor-cli-pg-'));
  await both('demo', demo);
  await both('waiting', async (store) => {
    const ev = buildWaiting(lib, { store });
    await ev.run();
    ev.close();
  });
  await both('delayed', async (store) => {
    const ev = buildDelayed(lib, { store });
    await ev.run({ maxLoops: 1 });
    ev.close();
  });
  await both('etl', (store) => batchFlow({ store }));
  await both('nested', (store) => nestedFlow({ store }));
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const COMMANDS = [runsCommand, showCommand, whyCommand, graphCommand];

/**
 * What `eventor <command> <file> ...` prints, run in this process (the expected side of each
 * comparison: the PostgreSQL side is always the built command in a child process).
 */
async function onFile(command: string, ...args: string[]): Promise<string> {
  const found = COMMANDS.find((c) => c.name === command);
  if (!found) throw new Error(`no command ${command}`);
  let out = '';
  const io = {
    out: (text: string) => {
      out += `${text}\n`;
    },
    err: (text: string) => {
      throw new Error(`eventor ${command} wrote to stderr: ${text}`);
    },
    isTTY: false,
    columns: undefined,
    color: false,
    now: Date.now(),
  };
  expect(await found.run(args, io)).toBe(0);
  return out;
}

const RUN_ID = /r-\d{8}T\d{6}Z-[0-9a-f]{6}/g;
const TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g;

/** What differs between two runs of one flow: run ids, times; and the store's name (a URL as shown). */
function normal(text: string, store: string): string {
  const name = store.startsWith('postgres') ? shown(store) : store;
  return text
    .split(`'${name}'`)
    .join('<store>')
    .split(name)
    .join('<store>')
    .replace(RUN_ID, '<run>')
    .replace(TIME, '<time>');
}

/** The URL as the command shows it: password hidden, schema named. */
function shown(url: string): string {
  const parsed = new URL(url);
  parsed.password = '***';
  return parsed.toString().replace('%2A%2A%2A', '***');
}

/** A table's rows with the columns that hold times and durations masked. */
function rowsOf(text: string): Array<Record<string, string>> {
  return parseTable(text).map((row) => {
    const out = { ...row };
    for (const key of ['STARTED', 'DURATION']) if (key in out) out[key] = '<masked>';
    if (out.RUN) out.RUN = out.RUN.replace(RUN_ID, '<run>');
    return out;
  });
}

/** JSON records with times, durations, run ids and stacks masked. */
function jsonOf(text: string): unknown {
  return JSON.parse(text, (key, value) => {
    if (['startedAt', 'endedAt', 'createdAt', 'updatedAt', 'durationMs', 'stack'].includes(key))
      return value === null ? null : '<masked>';
    return typeof value === 'string' ? value.replace(RUN_ID, '<run>') : value;
  });
}

describe('eventor runs, show, why and graph on a postgres: URL', () => {
  it('runs lists what it lists for a file: the recovered demo, a run left with delays pending', async () => {
    for (const label of ['demo', 'delayed'] as const) {
      const { url, file } = stores[label];
      const fromUrl = eventorOk('runs', url);
      expect(rowsOf(fromUrl)).toEqual(rowsOf(await onFile('runs', file)));
      expect(jsonOf(eventorOk('runs', url, '--json'))).toEqual(jsonOf(await onFile('runs', file, '--json')));
    }
    expect(rowsOf(eventorOk('runs', stores.demo.url))).toEqual([
      expect.objectContaining({ NAME: 'demo', MODE: 'recover', RECOVERY: '1', STATUS: 'success' }),
    ]);
    expect(rowsOf(eventorOk('runs', stores.delayed.url))[0]).toMatchObject({
      STATUS: 'incomplete',
      DELAYS: '2',
    });
  });

  it('show prints the same tasks, in the same order, filtered the same way', async () => {
    const { url, file } = stores.demo;
    for (const args of [
      [],
      ['--status', 'failure', '--status', 'skipped'],
      ['--step', 's2', '--recovery', '1'],
    ]) {
      const fromUrl = eventorOk('show', url, ...args);
      const fromFile = await onFile('show', file, ...args);
      expect(normal(fromUrl.split('\n')[0] ?? '', url)).toBe(normal(fromFile.split('\n')[0] ?? '', file));
      expect(rowsOf(fromUrl)).toEqual(rowsOf(fromFile));
      expect(jsonOf(eventorOk('show', url, ...args, '--json'))).toEqual(
        jsonOf(await onFile('show', file, ...args, '--json')),
      );
    }
    const tasks = jsonOf(eventorOk('show', url, '--json')) as Array<Record<string, unknown>>;
    expect(tasks.map((task) => [task.step, task.recovery, task.status, task.skipped])).toEqual([
      ['s1', 0, 'success', false],
      ['s2', 0, 'failure', false],
      ['s1', 1, 'success', true],
      ['s2', 1, 'success', false],
      ['s3', 1, 'success', false],
    ]);
    expect(tasks[0]?.result).toBe(9);
    const pending = eventorOk('show', stores.delayed.url, '--status', 'pending', '--json');
    expect(jsonOf(pending)).toEqual(
      jsonOf(await onFile('show', stores.delayed.file, '--status', 'pending', '--json')),
    );
  });

  it('why gives the same answer: expressions, a failure handled, a step that ran', async () => {
    for (const [label, steps] of [
      ['waiting', ['ship', 'publish', 'notify', 'build']],
      ['demo', ['s3', 's1']],
    ] as const) {
      const { url, file } = stores[label];
      for (const step of steps) {
        const fromUrl = eventorOk('why', url, step);
        expect(normal(fromUrl, url)).toBe(normal(await onFile('why', file, step), file));
      }
      expect(jsonOf(eventorOk('why', url, steps[0], '--json'))).toEqual(
        jsonOf(await onFile('why', file, steps[0], '--json')),
      );
    }
    expect(eventorOk('why', stores.waiting.url, 'ship')).toContain(
      'release = or(approve, and(built, tested)) is false',
    );
  });

  it('graph draws the same flow in every text format, coloured the same', async () => {
    for (const label of ['demo', 'waiting'] as const) {
      const { url, file } = stores[label];
      for (const format of ['mermaid', 'dot']) {
        expect(eventorOk('graph', url, '--format', format)).toBe(
          await onFile('graph', file, '--format', format),
        );
      }
    }
    expect(eventorOk('graph', stores.demo.url)).toContain('class s1,s2 success');
  });

  it('a sequent run reads as its tree: show, why and graph as for its file, --compiled too', async () => {
    for (const label of ['etl', 'nested'] as const) {
      const { url, file } = stores[label];
      expect(eventorOk('graph', url)).toBe(await onFile('graph', file));
      expect(eventorOk('graph', url, '--format', 'dot')).toBe(await onFile('graph', file, '--format', 'dot'));
      expect(eventorOk('graph', url, '--compiled')).toBe(await onFile('graph', file, '--compiled'));
      const fromUrl = eventorOk('show', url);
      const fromFile = await onFile('show', file);
      // the tree's outline (above the tasks) is the same text; the tasks the same rows
      const outline = (text: string) => text.slice(0, text.indexOf('\nSTEP ')).replace(TIME, '<time>');
      expect(outline(fromUrl)).toBe(outline(fromFile));
      expect(rowsOf(fromUrl)).toEqual(rowsOf(fromFile));
      expect(jsonOf(eventorOk('show', url, '--compiled', '--json'))).toEqual(
        jsonOf(await onFile('show', file, '--compiled', '--json')),
      );
    }
    const { url, file } = stores.etl;
    const why = eventorOk('why', url, 'batch_load');
    expect(why).toContain('It waits for batch_extract to succeed in iteration 1.2');
    expect(normal(why, url)).toBe(normal(await onFile('why', file, 'batch_load'), file));
    expect(normal(eventorOk('why', url, 'report'), url)).toBe(
      normal(await onFile('why', file, 'report'), file),
    );
    expect(eventorOk('graph', url)).toContain('1.1 success · 1.2 failure · 1.3 not started');
  });

  it("reads the schema ?schema= names, and 'flow' without it; postgresql: URLs too", async () => {
    const ev = buildDemo(lib, { store: db.url });
    const { runId } = await ev.run();
    ev.close();
    const inFlow = parseTable(eventorOk('runs', db.url));
    expect(inFlow.map((row) => row.RUN)).toEqual([runId]);
    expect(parseTable(eventorOk('runs', `${db.url}?schema=flow`)).map((row) => row.RUN)).toEqual([runId]);
    const other = parseTable(eventorOk('runs', stores.demo.url));
    expect(other.map((row) => row.RUN)).not.toContain(runId);
    const postgresql = db.url.replace(/^postgres:/, 'postgresql:');
    expect(parseTable(eventorOk('runs', postgresql)).map((row) => row.RUN)).toEqual([runId]);
    expect(eventorOk('show', db.url, runId)).toContain(`Run ${runId} (demo) · success`);
  });

  it('orders runs by id by code point, whatever the collation of the database', async () => {
    // a database whose collation sorts a < b < B < é < Z (ICU 'en'); SQLite and flow sort B < Z < a < b < é
    const admin = new pg.Client(inject('postgresUrl'));
    await admin.connect();
    const name = `${new URL(db.url).pathname.slice(1)}_icu`;
    await admin.query(
      `CREATE DATABASE "${name}" LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8' TEMPLATE template0`,
    );
    try {
      const url = new URL(db.url);
      url.pathname = `/${name}`;
      const file = join(tempDir('eventor-cli-pg-'), 'order.run.db');
      const ids = ['b', 'B', 'a', 'é', 'Z'];
      for (const store of [url.toString(), file]) {
        const clock = new lib.TestClock({ start: '2026-01-01T00:00:00Z' });
        for (const id of ids) {
          const ev = new lib.Eventor({ name: `flow ${id}`, store, runId: id, clock, logLevel: 'silent' });
          ev.triggerEvent(ev.addEvent('go'));
          ev.close();
        }
      }
      const order = (store: string) =>
        (JSON.parse(eventorOk('runs', store, '--json')) as Array<{ id: string }>).map((r) => r.id);
      expect(order(file)).toEqual(['B', 'Z', 'a', 'b', 'é']);
      expect(order(url.toString())).toEqual(order(file));
      // the latest run: the last by code point among those started last
      expect(eventorOk('show', url.toString()).split('\n')[0]).toContain('Run é (flow é)');
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });

  it('never writes: the rows are the same after every command, and a schema it was pointed at is not made', async () => {
    const { url } = stores.etl;
    const schema = schemaOf(url);
    const snapshot = async () => {
      const out: Record<string, unknown[]> = {};
      for (const table of ['runs', 'run_shapes', 'tasks', 'triggers', 'delays', '__drizzle_migrations'])
        out[table] = await db.query(`SELECT * FROM ${schema}.${table} ORDER BY 1, 2`);
      return out;
    };
    const before = await snapshot();
    eventorOk('runs', url);
    eventorOk('show', url);
    eventorOk('why', url, 'batch_load');
    eventorOk('graph', url, '--format', 'svg');
    expect(await snapshot()).toEqual(before);
    const absent = `${db.url}?schema=never_made`;
    expect(eventor('runs', absent).code).toBe(1);
    expect(await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'never_made'`)).toEqual([]);
  });
});

describe('eventor on a PostgreSQL store it cannot read', () => {
  /**
   * Runs the commands on `store` (every one with `all`; they share the opening, so `runs` and `ui`
   * otherwise): each exits `code`, with `message` and without `secret` anywhere.
   */
  function refused(store: string, code: number, message: string | RegExp, secret?: string, all = false) {
    const commands = [
      ['runs', store],
      ['show', store],
      ['why', store, 's1'],
      ['graph', store],
      ['ui', store, '--port', '0'],
    ];
    for (const args of all ? commands : [commands[0] as string[], commands[4] as string[]]) {
      const result = eventor(...args);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stdout).toBe('');
      if (typeof message === 'string') expect(result.stderr).toContain(message);
      else expect(result.stderr).toMatch(message);
      if (secret !== undefined) expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
    }
  }

  it('a URL to nothing: no server answered there, the password hidden', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const address = probe.address() as { port: number };
        probe.close(() => resolve(address.port));
      });
    });
    const store = `postgres://etl:s3cret-pw@127.0.0.1:${port}/flows`;
    refused(store, 1, `"postgres://etl:***@127.0.0.1:${port}/flows?schema=flow"`, 's3cret-pw', true);
    expect(eventor('runs', store).stderr).toContain('no PostgreSQL server answered there');
  });

  it('a wrong password: the server refused the login, and the password is not printed', () => {
    const url = new URL(db.url);
    url.password = 'not-the-pass-word';
    refused(url.toString(), 1, 'the server refused the login', 'not-the-pass-word', true);
    // nor is the right one, in a message about a store that is there
    const real = new URL(db.url).password;
    const missing = eventor('show', stores.demo.url, 'no-such-run');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No run "no-such-run"');
    expect(missing.stderr).toContain(`eventor runs '${shown(stores.demo.url)}'`);
    expect(missing.stderr).not.toContain(real);
  });

  it('a database that does not exist', () => {
    const url = new URL(db.url);
    url.pathname = '/no_such_database';
    refused(url.toString(), 1, 'that database does not exist on the server');
  });

  it('a schema that is not a flow store: another program its tables, another drizzle project its migrations', async () => {
    const foreign = db.store('foreign');
    await db.query(`CREATE SCHEMA ${schemaOf(foreign)}`);
    await db.query(`CREATE TABLE ${schemaOf(foreign)}.invoices (id int PRIMARY KEY)`);
    refused(foreign, 1, /is not a flow store: it holds tables that flow did not make \(invoices\)/);
    const drizzle = db.store('drizzle');
    await db.query(`CREATE SCHEMA ${schemaOf(drizzle)}`);
    await db.query(
      `CREATE TABLE ${schemaOf(drizzle)}.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`,
    );
    await db.query(
      `INSERT INTO ${schemaOf(drizzle)}.__drizzle_migrations (hash, created_at) VALUES ('theirs', 1)`,
    );
    expect(eventor('runs', drizzle).stderr).toContain('lists migrations flow does not ship');
  });

  it('a store from a newer release: says to upgrade, and changes nothing', async () => {
    const store = db.store('newer');
    const ev = buildDemo(lib, { store });
    ev.close();
    const shipped = readMigrationFiles({
      migrationsFolder: fileURLToPath(new URL('../drizzle/postgres', import.meta.url)),
    });
    const later = Math.max(...shipped.map((migration) => migration.folderMillis)) + 86_400_000;
    await db.query(
      `INSERT INTO ${schemaOf(store)}.__drizzle_migrations (hash, created_at) VALUES ('future', $1)`,
      [later],
    );
    refused(store, 1, /written by a newer version of @flow\/eventor .* Upgrade @flow\/eventor/);
    expect(
      await db.query(`SELECT hash FROM ${schemaOf(store)}.__drizzle_migrations WHERE hash = 'future'`),
    ).toHaveLength(1);
  });

  it('a schema that does not exist or is empty: no flow store there, naming the schemas that hold one', async () => {
    const absent = `${db.url}?schema=nothing_here`;
    refused(absent, 1, 'the Postgres schema "nothing_here" does not exist');
    const listed = eventor('runs', absent).stderr;
    expect(listed).toContain('Schemas of this database that hold one:');
    expect(listed).toContain(schemaOf(stores.demo.url));
    const empty = db.store('empty');
    await db.query(`CREATE SCHEMA ${schemaOf(empty)}`);
    expect(eventor('runs', empty).stderr).toContain(
      `the Postgres schema "${schemaOf(empty)}" holds no tables`,
    );
  });

  it('a schema name that is not a plain identifier, or a URL that is not one: bad arguments (exit 2)', () => {
    const bad = eventor('runs', `${db.url}?schema=Bad-Name`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the Postgres schema must be a lower-case name');
    expect(bad.stderr).toContain('Run `eventor runs --help` for usage.');
    const broken = eventor('show', 'postgres://user:pa ss@[bad/db');
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('is not a valid URL');
    expect(broken.stderr).not.toContain('pa ss');
  });

  it('says in every --help that <store> may be a postgres: URL', () => {
    for (const command of ['runs', 'show', 'why', 'graph', 'ui']) {
      expect(eventorOk(command, '--help')).toContain(
        "<store> is a store file's path, or a PostgreSQL store's URL",
      );
    }
    expect(eventorOk('--help')).toContain('postgres://user:password@host:5432/db?schema=name');
  });
});
