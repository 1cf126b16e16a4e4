import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startUi, type UiServer } from '../src/ui/server.js';
import { assertBuilt, CLI, eventor, eventorOk, PACKAGE_ROOT, tempDir } from './fixtures-cli/cli.js';
import { cloneRuns, gatedRun, HOSTILE, hostileRun, rawGet, recoveredDemo } from './fixtures-ui/flows.js';

beforeAll(() => assertBuilt());

const STATIC = join(PACKAGE_ROOT, 'dist', 'ui', 'static');

async function serve(store: string): Promise<UiServer> {
  const ui = await startUi({ store, port: 0, staticDir: STATIC, watchMs: 50 });
  onTestFinished(() => ui.close());
  return ui;
}

async function getJson<T>(ui: UiServer, path: string): Promise<T> {
  const res = await fetch(new URL(path, ui.url));
  expect(res.headers.get('content-type')).toContain('application/json');
  const body = (await res.json()) as T;
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function getText(ui: UiServer, path: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(new URL(path, ui.url));
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

interface TaskJson {
  step: string;
  sequence: string;
  recovery: number;
  status: string;
  skipped: boolean;
  attempts: number;
  durationMs: number | null;
  result?: unknown;
  error?: { name: string; message: string; stack?: string };
}

describe('eventor ui server', () => {
  it('lists runs newest first as HTML and JSON, filtered by name and status', async () => {
    const store = join(tempDir('eventor-ui-'), 'demo.run.db');
    const demo = await recoveredDemo(store);
    const hostile = await hostileRun(store);
    const ui = await serve(store);

    const page = await getJson<{ total: number; runs: Array<Record<string, unknown>> }>(ui, '/api/runs');
    expect(page.total).toBe(2);
    expect(page.runs.map((r) => r.id)).toEqual([hostile, demo]);
    expect(page.runs[1]).toMatchObject({
      name: 'demo',
      status: 'success',
      recovery: 1,
      mode: 'recover',
      tasks: { success: 2, failure: 0, skipped: 1, pending: 0 },
    });
    expect(page.runs[0]).toMatchObject({ status: 'failure', tasks: { failure: 1 } });
    expect(typeof page.runs[1]?.durationMs).toBe('number');

    const byName = await getJson<{ runs: Array<{ id: string }> }>(ui, '/api/runs?name=DEM');
    expect(byName.runs.map((r) => r.id)).toEqual([demo]);
    // LIKE's wildcards in a name are taken as they are
    expect((await getJson<{ total: number }>(ui, '/api/runs?name=%25')).total).toBe(0);
    expect((await getJson<{ total: number }>(ui, '/api/runs?name=d_mo')).total).toBe(0);
    const failed = await getJson<{ runs: Array<{ id: string }> }>(ui, '/api/runs?status=failure');
    expect(failed.runs.map((r) => r.id)).toEqual([hostile]);

    const html = await getText(ui, '/?status=success');
    expect(html.status).toBe(200);
    expect(html.type).toContain('text/html');
    expect(html.body).toContain(`<a href="/runs/${demo}">${demo}</a>`);
    expect(html.body).not.toContain(hostile);
    expect(html.body).toContain('1–1 of 1');

    const bad = await fetch(new URL('/api/runs?status=bogus', ui.url));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('status must be one of');
  });

  it('pages a store of 10,000 runs at once', async () => {
    const store = join(tempDir('eventor-ui-'), 'many.run.db');
    await recoveredDemo(store);
    cloneRuns(store, 10_000);
    const ui = await serve(store);

    const started = performance.now();
    const first = await getText(ui, '/');
    const firstMs = performance.now() - started;
    expect(first.status).toBe(200);
    expect(first.body).toContain('1–50 of 10000');
    expect(first.body).toContain('copy-09999');
    expect(first.body).toContain('href="/?offset=50"');
    expect(first.body.match(/<tr><td><a href="\/runs\//g)).toHaveLength(50);
    expect(firstMs).toBeLessThan(500);

    const page = await getJson<{ total: number; offset: number; runs: Array<{ id: string }> }>(
      ui,
      '/api/runs?offset=9990&limit=20',
    );
    expect(page.total).toBe(10_000);
    expect(page.runs).toHaveLength(10);
    expect(page.runs.at(-1)?.id).not.toMatch(/^copy-/);
    const even = await getJson<{ total: number; runs: Array<{ id: string }> }>(
      ui,
      '/api/runs?name=even&status=failure&limit=3',
    );
    // copies i with i even and i % 3 === 0: i = 6, 12, ..., 9996
    expect(even.total).toBe(1666);
    expect(even.runs.map((r) => r.id)).toEqual(['copy-09996', 'copy-09990', 'copy-09984']);
    const again = performance.now();
    await getText(ui, '/?offset=5000');
    expect(performance.now() - again).toBeLessThan(500);
  });

  it('serves a run: its page, steps by state, graph, tasks with filters, recoveries and why as `eventor why`', async () => {
    const store = join(tempDir('eventor-ui-'), 'demo.run.db');
    const runId = await recoveredDemo(store);
    const ui = await serve(store);

    const html = await getText(ui, `/runs/${runId}`);
    expect(html.status).toBe(200);
    expect(html.body).toContain('<span class="run-name">demo</span>');
    expect(html.body).toContain('<script type="module" src="/static/app.js"></script>');

    const detail = await getJson<{
      run: { id: string; status: string; recovery: number };
      steps: Array<{ name: string; node: string; state: string }>;
      recoveries: number[];
    }>(ui, `/api/runs/${runId}`);
    expect(detail.run).toMatchObject({ id: runId, status: 'success', recovery: 1 });
    expect(detail.steps).toEqual([
      { name: 's1', node: 's0', state: 'skipped' },
      { name: 's2', node: 's1', state: 'success' },
      { name: 's3', node: 's2', state: 'success' },
    ]);
    expect(detail.recoveries).toEqual([0, 1]);

    const graphRes = await fetch(new URL(`/api/runs/${runId}/graph`, ui.url));
    expect(graphRes.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(graphRes.headers.get('x-shape-key')).toMatch(/^\d+-[0-9a-z]+$/);
    const graph = { svg: await graphRes.text() };
    expect(graph.svg.startsWith('<svg')).toBe(true);
    expect(graph.svg).toContain('<g id="n_s1" class="node step">');
    expect(graph.svg).toContain('>run_step3</text>');
    // left to right, as `eventor graph --format dot` (rankdir=LR): the graph is wider than tall
    const [, width, height] = /viewBox="0\.00 0\.00 ([\d.]+) ([\d.]+)"/.exec(graph.svg) ?? [];
    expect(Number(width)).toBeGreaterThan(Number(height));

    const all = await getJson<{ tasks: TaskJson[] }>(ui, `/api/runs/${runId}/tasks`);
    expect(all.tasks.map((t) => [t.step, t.recovery, t.status, t.skipped])).toEqual([
      ['s1', 0, 'success', false],
      ['s2', 0, 'failure', false],
      ['s1', 1, 'success', true],
      ['s2', 1, 'success', false],
      ['s3', 1, 'success', false],
    ]);
    const failure = all.tasks[1];
    expect(failure?.error?.message).toContain('cannot take the square root of -9');
    expect(failure?.error?.stack).toContain('RangeError');
    expect(all.tasks[0]).toMatchObject({ sequence: '3', attempts: 1, result: 9 });
    expect(typeof all.tasks[0]?.durationMs).toBe('number');

    const skipped = await getJson<{ tasks: TaskJson[] }>(ui, `/api/runs/${runId}/tasks?status=skipped`);
    expect(skipped.tasks.map((t) => t.step)).toEqual(['s1']);
    const s2 = await getJson<{ tasks: TaskJson[] }>(ui, `/api/runs/${runId}/tasks?step=s2&recovery=1`);
    expect(s2.tasks.map((t) => [t.step, t.recovery, t.status])).toEqual([['s2', 1, 'success']]);
    const failures = await getJson<{ tasks: TaskJson[] }>(ui, `/api/runs/${runId}/tasks?status=failure`);
    expect(failures.tasks.map((t) => t.step)).toEqual(['s2']);

    const why = await getJson<{ text: string; diagnosis: { step: string } }>(
      ui,
      `/api/runs/${runId}/why?step=s1`,
    );
    expect(why.text).toBe(eventorOk('why', store, 's1', '--run', runId).trimEnd());
    expect(why.text).toContain('Recovery skipped it');
    expect(why.diagnosis).toEqual(JSON.parse(eventorOk('why', store, 's1', '--run', runId, '--json')));

    const noStep = await fetch(new URL(`/api/runs/${runId}/why?step=nope`, ui.url));
    expect(noStep.status).toBe(404);
    expect(((await noStep.json()) as { error: string }).error).toBe(`Run "${runId}" has no step "nope".`);
    expect((await fetch(new URL(`/api/runs/${runId}/why`, ui.url))).status).toBe(400);
    expect((await fetch(new URL(`/api/runs/${runId}/tasks?status=bogus`, ui.url))).status).toBe(400);
    expect((await fetch(new URL(`/api/runs/${runId}/tasks?recovery=x`, ui.url))).status).toBe(400);
  });

  it('escapes every name: a step, event, sequence and flow named with HTML show as text', async () => {
    const store = join(tempDir('eventor-ui-'), 'hostile.run.db');
    const runId = await hostileRun(store);
    const ui = await serve(store);
    const escaped = '&lt;img src=x onerror=alert(1)&gt;';

    const list = await getText(ui, '/');
    expect(list.body).toContain(`flow ${escaped}`);
    expect(list.body).not.toContain(HOSTILE);
    const run = await getText(ui, `/runs/${runId}`);
    expect(run.body).toContain(`<span class="run-name">flow ${escaped}</span>`);
    expect(run.body).not.toContain(HOSTILE);
    const filtered = await getText(ui, `/?name=${encodeURIComponent(HOSTILE)}`);
    expect(filtered.body).toContain(`value="${escaped}"`);
    expect(filtered.body).not.toContain(HOSTILE);

    const graph = { svg: await (await fetch(new URL(`/api/runs/${runId}/graph`, ui.url))).text() };
    expect(graph.svg).toContain(`>${escaped}</text>`);
    expect(graph.svg).not.toContain('<img');

    // JSON carries the names as they are; the page puts them in with textContent
    const tasks = await getJson<{ tasks: TaskJson[] }>(
      ui,
      `/api/runs/${runId}/tasks?step=${encodeURIComponent(HOSTILE)}`,
    );
    expect(tasks.tasks).toMatchObject([{ step: HOSTILE, sequence: `seq ${HOSTILE}`, status: 'failure' }]);
    const why = await getJson<{ text: string }>(
      ui,
      `/api/runs/${runId}/why?step=${encodeURIComponent(HOSTILE)}`,
    );
    expect(why.text).toContain(`${HOSTILE}[seq ${HOSTILE}]: it ran.`);

    const missing = await getText(ui, `/runs/${encodeURIComponent(HOSTILE)}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain(escaped);
    expect(missing.body).not.toContain(HOSTILE);
  });

  it('answers bad routes, unknown runs and paths out of its folder with a clear 404, never a file or a stack', async () => {
    const store = join(tempDir('eventor-ui-'), 'demo.run.db');
    const runId = await recoveredDemo(store);
    const ui = await serve(store);

    const app = await rawGet(ui.url, '/static/app.js');
    expect(app.status).toBe(200);
    expect(app.type).toContain('text/javascript');
    expect((await rawGet(ui.url, '/static/style.css')).status).toBe(200);

    for (const path of [
      '/../../etc/passwd',
      '/static/../../etc/passwd',
      '/static/..%2f..%2f..%2fpackage.json',
      '/static/%2e%2e%2f%2e%2e%2fserver.js',
      '/static/%2e%2e/%2e%2e/package.json',
      '/static/..%5c..%5cpackage.json',
      '/static/%252e%252e%252fpackage.json',
      '/static/..%2f',
      '/static/',
      '/static/app.js%00.css',
      '/static/%E0%A4%A',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/static/%2fetc%2fpasswd',
    ]) {
      const res = await rawGet(ui.url, path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.type).toContain('text/html');
      expect(res.body).toContain('<h1>Not found</h1>');
      expect(res.body).not.toContain('root:');
      expect(res.body).not.toContain('"name": "@flow/eventor"');
      expect(res.body).not.toMatch(/at .*\.js:\d+/);
    }

    const unknown = await getText(ui, '/runs/no-such-run');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toContain('No run &quot;no-such-run&quot; in the store at');
    expect(unknown.body).toContain('<a href="/">All runs</a>');
    expect((await getText(ui, '/nowhere')).status).toBe(404);
    expect((await getText(ui, `/runs/${runId}/extra`)).status).toBe(404);

    for (const path of [
      '/api/runs/no-such-run',
      '/api/runs/no-such-run/tasks',
      '/api/nothing',
      '/api/events?run=nope',
    ]) {
      const res = await fetch(new URL(path, ui.url));
      expect([path, res.status]).toEqual([path, 404]);
      const body = (await res.json()) as { error: string };
      expect(body.error).toMatch(/No run "nope"|No run "no-such-run"|Nothing here/);
    }
    const post = await fetch(new URL('/', ui.url), { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('never writes to the store, and tells a page within a second when a running run changes', async () => {
    const store = join(tempDir('eventor-ui-'), 'live.run.db');
    const run = gatedRun(store);
    await run.started;
    const ui = await serve(store);

    const before = await getJson<{ steps: Array<{ name: string; state: string }> }>(
      ui,
      `/api/runs/${run.runId}`,
    );
    expect(before.steps).toEqual([
      { name: 'first', node: 's0', state: 'success' },
      { name: 'wait', node: 's1', state: 'active' },
      { name: 'last', node: 's2', state: 'none' },
    ]);
    const listed = await getJson<{ runs: Array<{ status: string }> }>(ui, '/api/runs');
    expect(listed.runs[0]?.status).toBe('running');
    // running and interrupted are both stored as running: the filter tells them apart by the lease
    const running = await getJson<{ total: number; runs: Array<{ id: string }> }>(
      ui,
      '/api/runs?status=running',
    );
    expect(running.runs.map((r) => r.id)).toEqual([run.runId]);
    expect((await getJson<{ total: number }>(ui, '/api/runs?status=interrupted')).total).toBe(0);

    const controller = new AbortController();
    onTestFinished(() => controller.abort());
    const res = await fetch(new URL(`/api/events?run=${run.runId}`, ui.url), { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = '';
    const next = async (pattern: RegExp, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!pattern.test(received)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${pattern} within ${ms} ms; got: ${received}`);
        const chunk = await Promise.race([
          reader.read(),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), left)),
        ]);
        if (chunk?.value) received += chunk.value;
      }
    };
    await next(/event: hello/, 1000);
    const opened = Date.now();
    run.open();
    await next(/event: change/, 1000);
    expect(Date.now() - opened).toBeLessThan(1000);
    await run.done;

    const after = await getJson<{ run: { status: string }; steps: Array<{ name: string; state: string }> }>(
      ui,
      `/api/runs/${run.runId}`,
    );
    expect(after.run.status).toBe('success');
    expect(after.steps.map((s) => s.state)).toEqual(['success', 'success', 'success']);

    // the server's connections are read-only: a run's rows are as the engine left them
    const bytes = readFileSync(store);
    await getText(ui, '/');
    await getText(ui, `/runs/${run.runId}`);
    await getJson(ui, `/api/runs/${run.runId}/tasks`);
    await getJson(ui, `/api/runs/${run.runId}/why?step=last`);
    expect(readFileSync(store).equals(bytes)).toBe(true);
  });
});

describe('eventor ui command', () => {
  it('serves on 127.0.0.1 by default and prints where; --help; a missing store exits 1', async () => {
    expect(eventorOk('ui', '--help')).toContain('Usage: eventor ui <store> [--port 4807] [--host 127.0.0.1]');
    expect(eventorOk('--help')).toContain('\n  ui     serve a read-only, live web view');
    const dir = tempDir('eventor-ui-');
    const missing = eventor('ui', join(dir, 'none.db'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No store file at');
    expect(eventor('ui', 'x.db', '--port', 'abc').code).toBe(2);

    const store = join(dir, 'demo.run.db');
    const runId = await recoveredDemo(store);
    const child = spawn(process.execPath, [CLI, 'ui', store, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      child.kill();
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        const found = /at (http:\/\/\S+)/.exec(out);
        if (found?.[1]) resolve(found[1]);
      });
      child.on('exit', (code) => reject(new Error(`eventor ui exited ${code}: ${out}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(new URL(`/runs/${runId}`, url));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<span class="run-name">demo</span>');
    const js = await fetch(new URL('/static/app.js', url));
    expect(js.status).toBe(200);
  });
});
