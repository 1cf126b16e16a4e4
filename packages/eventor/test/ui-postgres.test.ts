// eventor ui over a PostgreSQL store: every route against runs written for real on a real
// PostgreSQL, answering what the same runs in a file answer; and live: a page is told of a commit
// within a second (LISTEN), or, when the listening connection is gone, by a check every second.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import * as lib from '../src/index.js';
import { startUi, type UiServer } from '../src/ui/server.js';
import { assertBuilt, CLI, eventorOk, PACKAGE_ROOT, tempDir } from './fixtures-cli/cli.js';
import { batchFlow } from './fixtures-tree/flows.mjs';
import { gatedRun, HOSTILE, hostileRun, recoveredDemo } from './fixtures-ui/flows.js';
import { schemaOf, testDatabase } from './helpers/postgres.js';

const db = testDatabase('ui');
const STATIC = join(PACKAGE_ROOT, 'dist', 'ui', 'static');
const DIST = new URL('../dist/index.js', import.meta.url).href;

beforeAll(() => assertBuilt());

async function serve(store: string): Promise<UiServer> {
  const ui = await startUi({ store, port: 0, staticDir: STATIC, watchMs: 50 });
  onTestFinished(() => ui.close());
  return ui;
}

async function get(ui: UiServer, path: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(new URL(path, ui.url));
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

async function json<T = unknown>(ui: UiServer, path: string): Promise<T> {
  const res = await get(ui, path);
  expect([path, res.status, res.type]).toEqual([path, 200, 'application/json; charset=utf-8']);
  return JSON.parse(res.body) as T;
}

/** The URL as the store shows it: the password hidden. */
function shown(url: string): string {
  const parsed = new URL(url);
  return url.replace(`:${parsed.password}@`, ':***@');
}

const RUN_ID = /r-\d{8}T\d{6}Z-[0-9a-f]{6}/g;
const TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/g;
const DURATION = /\b\d+(?:\.\d+)?(?:ms|s)\b/g;

/** What differs between the two stores' answers: run ids, times, durations, the store's name. */
function normal(text: string, store: string): string {
  return text
    .split(store.startsWith('postgres') ? shown(store) : store)
    .join('<store>')
    .replace(RUN_ID, '<run>')
    .replace(TIME, '<time>')
    .replace(DURATION, '<duration>');
}

function masked(body: string, store: string): unknown {
  return JSON.parse(normal(body, store), (key, value) =>
    ['startedAt', 'endedAt', 'createdAt', 'updatedAt', 'durationMs', 'stack', 'dueAt', 'shapeKey'].includes(
      key,
    ) && value !== null
      ? '<masked>'
      : value,
  );
}

/** The same runs in a Postgres schema and in a file, and a server over each. */
async function twoStores(write: (store: string) => Promise<unknown>) {
  const url = db.store('ui');
  const file = join(tempDir('eventor-ui-pg-'), 'same.run.db');
  await write(url);
  await write(file);
  return { url, file, pg: await serve(url), sqlite: await serve(file) };
}

describe('eventor ui on a postgres: URL', () => {
  it('answers every route as for a file with the same runs: lists, a run, its graph, tasks and why', async () => {
    const { url, file, pg, sqlite } = await twoStores(async (store) => {
      await recoveredDemo(store);
      await hostileRun(store);
    });
    const same = async (path: (ids: string[]) => string, kind: 'json' | 'html' | 'svg' = 'json') => {
      const ids = async (ui: UiServer) =>
        (await json<{ runs: Array<{ id: string }> }>(ui, '/api/runs')).runs.map((run) => run.id);
      const [fromPg, fromFile] = await Promise.all([
        get(pg, path(await ids(pg))),
        get(sqlite, path(await ids(sqlite))),
      ]);
      expect(fromPg.status).toBe(fromFile.status);
      expect(fromPg.type).toBe(fromFile.type);
      if (kind === 'json') expect(masked(fromPg.body, url)).toEqual(masked(fromFile.body, file));
      else expect(normal(fromPg.body, url)).toBe(normal(fromFile.body, file));
      return fromPg;
    };
    // ids[0] is the hostile run (newest), ids[1] the demo
    const list = await same(() => '/api/runs');
    expect((JSON.parse(list.body) as { total: number }).total).toBe(2);
    await same(() => '/api/runs?name=DEM');
    await same(() => '/api/runs?name=%25');
    await same(() => '/api/runs?status=failure&limit=1');
    await same(() => '/api/runs?status=interrupted');
    await same(() => '/api/runs?offset=1');
    const html = await same(() => '/', 'html');
    expect(html.body).toContain(`<small>${shown(url)}</small>`);
    expect(html.body).not.toContain(new URL(url).password);
    await same(() => '/?status=success', 'html');
    await same((ids) => `/runs/${ids[1]}`, 'html');
    const detail = await same((ids) => `/api/runs/${ids[1]}`);
    expect(JSON.parse(detail.body)).toMatchObject({ run: { status: 'success', recovery: 1 } });
    const svg = await same((ids) => `/api/runs/${ids[1]}/graph`, 'svg');
    expect(svg.body).toContain('<g id="n_s1" class="node step">');
    await same((ids) => `/api/runs/${ids[0]}/graph`, 'svg');
    const tasks = await same((ids) => `/api/runs/${ids[1]}/tasks`);
    expect((JSON.parse(tasks.body) as { tasks: unknown[] }).tasks).toHaveLength(5);
    await same((ids) => `/api/runs/${ids[1]}/tasks?status=skipped`);
    await same((ids) => `/api/runs/${ids[1]}/tasks?step=s2&recovery=1`);
    await same((ids) => `/api/runs/${ids[1]}/tasks?status=pending`);
    await same((ids) => `/api/runs/${ids[0]}/tasks?step=${encodeURIComponent(HOSTILE)}`);
    const why = await same((ids) => `/api/runs/${ids[1]}/why?step=s1`);
    expect((JSON.parse(why.body) as { text: string }).text).toContain('Recovery skipped it');
    await same((ids) => `/api/runs/${ids[1]}/why?step=s3&sequence=3`);
    await same((ids) => `/api/runs/${ids[0]}/why?step=${encodeURIComponent(HOSTILE)}`);
    // what is not there: the same clear answers
    await same(() => '/runs/no-such-run', 'html');
    await same(() => '/api/runs/no-such-run');
    await same((ids) => `/api/runs/${ids[1]}/why?step=nope`);
    const missing = await get(pg, '/runs/no-such-run');
    expect(missing.status).toBe(404);
    expect(missing.body).toContain(`No run &quot;no-such-run&quot; in the store at ${shown(url)}`);
  });

  it('draws a sequent run as its tree and answers why in its terms, as for a file', async () => {
    const { url, file, pg, sqlite } = await twoStores((store) => batchFlow({ store }));
    for (const path of [
      '/api/runs/r-etl',
      '/api/runs/r-etl/why?step=batch_load',
      '/api/runs/r-etl/why?step=batch',
      '/api/runs/r-etl/tasks?step=batch_extract',
    ]) {
      expect(masked((await get(pg, path)).body, url)).toEqual(masked((await get(sqlite, path)).body, file));
    }
    const tree = await get(pg, '/api/runs/r-etl/graph');
    expect(tree.body).toBe((await get(sqlite, '/api/runs/r-etl/graph')).body);
    expect(tree.body).toContain('3 iterations');
    const compiled = await get(pg, '/api/runs/r-etl/graph?view=compiled');
    expect(compiled.body).toBe((await get(sqlite, '/api/runs/r-etl/graph?view=compiled')).body);
    const why = await json<{ text: string }>(pg, '/api/runs/r-etl/why?step=batch_load');
    expect(why.text).toBe(eventorOk('why', url, 'batch_load').trimEnd());
  });

  it('never writes to the store: its rows are the same after every route', async () => {
    const url = db.store('ro');
    const runId = await recoveredDemo(url);
    const ui = await serve(url);
    const schema = schemaOf(url);
    const snapshot = async () => {
      const out: Record<string, unknown[]> = {};
      for (const table of ['runs', 'run_shapes', 'tasks', 'triggers', 'delays', '__drizzle_migrations'])
        out[table] = await db.query(`SELECT * FROM ${schema}.${table} ORDER BY 1, 2`);
      return out;
    };
    const before = await snapshot();
    for (const path of [
      '/',
      `/runs/${runId}`,
      `/api/runs/${runId}`,
      `/api/runs/${runId}/graph`,
      `/api/runs/${runId}/tasks`,
      `/api/runs/${runId}/why?step=s2`,
    ])
      expect((await get(ui, path)).status).toBe(200);
    expect(await snapshot()).toEqual(before);
  });
});

/** Reads a page's server-sent events; `next` waits for a pattern to appear after what it saw before. */
async function events(ui: UiServer, path: string) {
  const controller = new AbortController();
  onTestFinished(() => controller.abort());
  const res = await fetch(new URL(path, ui.url), { signal: controller.signal });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let received = '';
  let seen = 0;
  return {
    /** Resolves with the time it arrived at; fails after `ms`. */
    async next(pattern: RegExp, ms: number): Promise<number> {
      const deadline = Date.now() + ms;
      for (;;) {
        const at = received.slice(seen).search(pattern);
        if (at >= 0) {
          const match = pattern.exec(received.slice(seen + at)) as RegExpExecArray;
          seen += at + match[0].length;
          return Date.now();
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${pattern} within ${ms} ms; got: ${received.slice(seen)}`);
        const chunk = await Promise.race([
          reader.read(),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), left)),
        ]);
        if (chunk?.value) received += chunk.value;
      }
    },
    /** Everything after what next() consumed. */
    get rest(): string {
      return received.slice(seen);
    },
  };
}

/** Another process makes a run in `store` (triggers an event, never runs it) and exits. */
function runMadeElsewhere(store: string, runId: string): Promise<number> {
  const script = `import { Eventor } from ${JSON.stringify(DIST)};
    const ev = new Eventor({ name: 'elsewhere', store: process.argv[1], runId: process.argv[2], logLevel: 'silent' });
    ev.triggerEvent(ev.addEvent('go'));
    ev.close();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, store, runId], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => (code === 0 ? resolve(Date.now()) : reject(new Error(stderr))));
  });
}

describe('eventor ui on PostgreSQL, live', () => {
  it('tells a page within a second when a running run commits (LISTEN)', async () => {
    const url = db.store('live');
    const run = gatedRun(url);
    await run.started;
    const ui = await serve(url);
    const before = await json<{ steps: Array<{ name: string; state: string }> }>(
      ui,
      `/api/runs/${run.runId}`,
    );
    expect(before.steps.map((step) => [step.name, step.state])).toEqual([
      ['first', 'success'],
      ['wait', 'active'],
      ['last', 'none'],
    ]);
    expect(
      (await json<{ runs: Array<{ status: string }> }>(ui, '/api/runs?status=running')).runs,
    ).toHaveLength(1);
    const page = await events(ui, `/api/events?run=${run.runId}`);
    await page.next(/event: hello/, 1000);
    const opened = Date.now();
    run.open();
    const changed = await page.next(/event: change/, 1000);
    expect(changed - opened).toBeLessThan(1000);
    await run.done;
    const after = await json<{ run: { status: string }; steps: Array<{ state: string }> }>(
      ui,
      `/api/runs/${run.runId}`,
    );
    expect(after.run.status).toBe('success');
    expect(after.steps.map((step) => step.state)).toEqual(['success', 'success', 'success']);
  });

  it("tells a page of a run's start and end, even with no commit between (nothing to do)", async () => {
    const url = db.store('idle');
    const ev = new lib.Eventor({ name: 'idle', store: url, runId: 'idle-run', logLevel: 'silent' });
    onTestFinished(() => ev.close());
    // made (and its start notified) before the page listens
    expect(ev.runId).toBe('idle-run');
    const ui = await serve(url);
    const page = await events(ui, '/api/events?run=idle-run');
    await page.next(/event: hello/, 1000);
    const started = Date.now();
    const result = await ev.run();
    expect(result.status).toBe('success');
    const changed = await page.next(/event: change/, 1000);
    expect(changed - started).toBeLessThan(1000);
    expect((await json<{ run: { status: string } }>(ui, '/api/runs/idle-run')).run.status).toBe('success');
    expect(await db.query(`SELECT count(*)::int AS n FROM ${schemaOf(url)}.tasks`)).toEqual([{ n: 0 }]);
  });

  it('tells the runs page of a run another process made, and hears nothing of another schema', async () => {
    const url = db.store('made');
    const other = db.store('other');
    await recoveredDemo(url);
    await recoveredDemo(other);
    const ui = await serve(url);
    const page = await events(ui, '/api/events');
    await page.next(/event: hello/, 1000);
    // a run in another schema of the same database: no change for this store
    await runMadeElsewhere(other, 'not-here');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(page.rest).not.toContain('event: change');
    const exited = await runMadeElsewhere(url, 'made-elsewhere');
    const changed = await page.next(/event: change/, 1000);
    expect(changed - exited).toBeLessThan(1000);
    const runs = await json<{ runs: Array<{ id: string; status: string }> }>(ui, '/api/runs');
    expect(runs.runs[0]).toMatchObject({ id: 'made-elsewhere', status: 'interrupted' });
  });

  it('checks every second when its listening connection is gone, and still tells the page', async () => {
    const url = db.store('fallback');
    await recoveredDemo(url);
    const ui = await serve(url);
    const page = await events(ui, '/api/events');
    await page.next(/event: hello/, 1000);
    const killed = await db.query<{ pid: number }>(
      `SELECT pg_terminate_backend(pid) AS done, pid FROM pg_stat_activity
       WHERE datname = current_database() AND query = 'LISTEN flow_changes' AND pid <> pg_backend_pid()`,
    );
    expect(killed).toHaveLength(1);
    // what changed meanwhile is not known: the page is told to look again
    await page.next(/event: change/, 2000);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(page.rest).not.toContain('event: change');
    const exited = await runMadeElsewhere(url, 'after-listen');
    const changed = await page.next(/event: change/, 2000);
    expect(changed - exited).toBeLessThan(1500);
    expect((await json<{ runs: Array<{ id: string }> }>(ui, '/api/runs')).runs[0]?.id).toBe('after-listen');
  });
});

describe('eventor ui <postgres URL>', () => {
  it('serves the store, saying where with the password hidden', async () => {
    const url = db.store('cmd');
    const runId = await recoveredDemo(url);
    const child = spawn(process.execPath, [CLI, 'ui', url, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      child.kill();
    });
    let out = '';
    const at = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        const found = /at (http:\/\/\S+)/.exec(out);
        if (found?.[1]) resolve(found[1]);
      });
      child.on('exit', (code) => reject(new Error(`eventor ui exited ${code}: ${out}`)));
    });
    expect(out).toBe(`eventor ui: serving ${shown(url)} (read-only) at ${at}\n`);
    expect(out).not.toContain(new URL(url).password);
    const res = await fetch(new URL(`/runs/${runId}`, at));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<span class="run-name">demo</span>');
  });
});
