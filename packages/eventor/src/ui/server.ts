import { readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openReader } from '../inspect/open-reader.js';
import { type Reader, runShape, TASK_FILTER_STATUSES } from '../inspect/reader.js';
import type { RunRow } from '../store/types.js';
import { formatDuration, formatTime } from '../text.js';
import {
  RUN_STATES,
  type RunJson,
  type RunsQuery,
  runDetail,
  runGraph,
  runsPage,
  shapeKey,
  type TreeView,
  tasksOf,
  treeView,
  whyOf,
} from './data.js';
import { loadViz, renderDotSvg, renderSvg } from './graph.js';
import { escapeHtml, notFoundPage, page } from './html.js';

export interface UiOptions {
  /** The store to show (opened read-only): a file's path, or a postgres: URL (`?schema=name`). */
  store: string;
  /** Default 127.0.0.1: only this machine can connect. */
  host?: string;
  /** Default 4807; 0 picks a free port. */
  port?: number;
  /**
   * How often the server checks a store file for changes while a page listens (ms, default 200).
   * A PostgreSQL store tells of its changes (LISTEN); only when it cannot does the server check, every
   * second (or every watchMs when that is longer).
   */
  watchMs?: number;
  /** The folder of the page's built script and style (default: dist/ui/static beside this module). */
  staticDir?: string;
}

export interface UiServer {
  /** Where the UI is, e.g. http://127.0.0.1:4807/ */
  url: string;
  server: Server;
  close(): Promise<void>;
}

const PAGE_SIZE = 50;
/** How often a PostgreSQL store is checked when it cannot LISTEN (refused, or its connection lost). */
const LISTEN_FALLBACK_MS = 1000;
/** Notifications within this long make one `change` event: a run commits many times a second. */
const NOTIFY_COALESCE_MS = 50;
const MAX_PAGE = 500;
const SVG_CACHE = 16;
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

class NotFound extends Error {}
class BadRequest extends Error {}

/** Starts the read-only web view of `options.store`; StoreError when the store cannot be read. */
export async function startUi(options: UiOptions): Promise<UiServer> {
  const app = new UiApp(options);
  await loadViz();
  const server = createServer((req, res) => app.handle(req, res));
  server.on('close', () => app.close());
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(options.port ?? 4807, options.host ?? '127.0.0.1', () => {
        server.off('error', fail);
        done();
      });
    });
  } catch (error) {
    app.close();
    throw error;
  }
  app.warm();
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    server,
    close: () =>
      new Promise<void>((done) => {
        app.close();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

interface Listener {
  res: ServerResponse;
  run: string | undefined;
}

class UiApp {
  private readonly reader: Reader;
  private readonly staticDir: string;
  private readonly watchMs: number;
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  /** While the store tells of its changes itself (LISTEN): resolves once it listens. */
  private listening: Promise<{ close(): Promise<void> } | undefined> | undefined;
  private flush: NodeJS.Timeout | undefined;
  private version: number;
  private readonly svgCache = new Map<string, Promise<string>>();
  private closed = false;

  constructor(options: UiOptions) {
    this.reader = openReader(options.store);
    this.version = this.reader.dataVersion();
    this.watchMs = options.watchMs ?? 200;
    const dir = options.staticDir ?? fileURLToPath(new URL('./static/', import.meta.url));
    this.staticDir = realpathOr(resolve(dir));
  }

  /** Lays out the latest run's flow in the background: it is the page people open first. */
  warm(): void {
    setImmediate(() => {
      if (this.closed) return;
      try {
        const run = this.reader.latestRun();
        if (run) this.prepare(run);
      } catch {
        // a store that cannot be read shows its error on the first request
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.flush) clearTimeout(this.flush);
    void this.listening?.then((listening) => listening?.close());
    for (const listener of this.listeners) listener.res.end();
    this.listeners.clear();
    this.reader.close();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((error: unknown) => this.fail(req, res, error));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('This view is read-only: only GET requests.\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').slice(1);
    const segment = (i: number): string => decodeSegment(parts[i] ?? '');
    const q = url.searchParams;
    if (url.pathname === '/') return this.html(res, this.runsHtml(q));
    if (parts[0] === 'static' && parts.length === 2) return this.static(res, segment(1));
    if (parts[0] === 'runs' && parts.length === 2) {
      const run = this.run(segment(1));
      // lay the graph out while the page loads its script: the page asks for it next
      this.prepare(run);
      return this.html(res, this.runHtml(run));
    }
    if (parts[0] === 'api') {
      if (parts[1] === 'events' && parts.length === 2)
        return await this.events(res, q.get('run') ?? undefined);
      if (parts[1] === 'runs' && parts.length === 2) return this.json(res, this.runsJson(q));
      if (parts[1] === 'runs' && parts.length >= 3) {
        const run = this.run(segment(2));
        const what = parts.length === 3 ? '' : parts.length === 4 ? parts[3] : undefined;
        if (what === '') {
          const graph = runGraph(run);
          const tasks = this.reader.tasks(run.id);
          const tree = treeView(this.reader, run, tasks);
          return this.json(res, runDetail(run, tasks, graph?.graph, Date.now(), tree));
        }
        if (what === 'graph') return this.svgResponse(res, run, this.graphView(q));
        if (what === 'tasks') return this.json(res, this.tasksJson(run, q));
        if (what === 'why') return this.json(res, this.whyJson(run, q));
      }
    }
    throw new NotFound(`Nothing here at ${url.pathname}.`);
  }

  private fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const api = (req.url ?? '').startsWith('/api/');
    const status = error instanceof NotFound ? 404 : error instanceof BadRequest ? 400 : 500;
    const message =
      status === 500
        ? `The view failed to read the store: ${(error as Error).message}`
        : (error as Error).message;
    if (api) {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: message }));
      return;
    }
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      status === 404
        ? notFoundPage(message)
        : page('Error · eventor', `<h1>Error</h1><p class="notfound">${escapeHtml(message)}</p>`),
    );
  }

  private html(res: ServerResponse, body: string): void {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
  }

  /**
   * The flow's SVG as it is (no JSON around 1 MB of text), its key in a header: a tree's run draws
   * its tree unless `view=compiled` asks for the eventor graph.
   */
  private async svgResponse(
    res: ServerResponse,
    run: RunRow,
    view: 'tree' | 'compiled' | undefined,
  ): Promise<void> {
    const tree = view === 'compiled' ? undefined : treeView(this.reader, run);
    if (view === 'tree' && tree === undefined) {
      throw new NotFound(
        `Run "${run.id}" was not written as a tree (it is a plain eventor flow): ask for view=compiled.`,
      );
    }
    const svg = tree ? await this.treeSvg(run, tree) : await this.svg(run);
    res.writeHead(200, {
      'content-type': 'image/svg+xml; charset=utf-8',
      'cache-control': 'no-store',
      'x-shape-key': tree ? tree.key : shapeKey(run),
      'x-graph-view': tree ? 'tree' : 'compiled',
      'x-content-type-options': 'nosniff',
    });
    res.end(svg);
  }

  private graphView(q: URLSearchParams): 'tree' | 'compiled' | undefined {
    const view = q.get('view') || undefined;
    if (view !== undefined && view !== 'tree' && view !== 'compiled') {
      throw new BadRequest(`view must be tree or compiled; got "${view}".`);
    }
    return view;
  }

  private json(res: ServerResponse, value: unknown): void {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(value));
  }

  /** Files of the page's folder only: anything that resolves outside it (or is not a file) is a 404. */
  private static(res: ServerResponse, name: string): void {
    const notHere = new NotFound(`No file ${name} in the view's static files.`);
    if (name === '' || name.includes('\0')) throw notHere;
    const path = resolve(this.staticDir, name);
    if (!path.startsWith(this.staticDir + sep)) throw notHere;
    let real: string;
    try {
      real = realpathSync(path);
      if (!real.startsWith(this.staticDir + sep) || !statSync(real).isFile()) throw notHere;
    } catch {
      throw notHere;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(real)] ?? 'application/octet-stream',
      'x-content-type-options': 'nosniff',
    });
    res.end(readFileSync(real));
  }

  private run(id: string): RunRow {
    const run = this.reader.getRun(id);
    if (!run) throw new NotFound(`No run "${id}" in the store at ${this.reader.location}.`);
    return run;
  }

  private runsQuery(q: URLSearchParams) {
    const status = q.get('status') || undefined;
    if (status !== undefined && !(RUN_STATES as readonly string[]).includes(status)) {
      throw new BadRequest(`status must be one of ${RUN_STATES.join(', ')}; got "${status}".`);
    }
    const query: RunsQuery = {
      offset: wholeNumber(q, 'offset', 0),
      limit: Math.min(wholeNumber(q, 'limit', PAGE_SIZE), MAX_PAGE),
    };
    const name = q.get('name');
    if (name) query.name = name;
    if (status) query.state = status;
    return query;
  }

  private runsJson(q: URLSearchParams) {
    return runsPage(this.reader, this.runsQuery(q), Date.now());
  }

  private tasksJson(run: RunRow, q: URLSearchParams) {
    const statuses = q.getAll('status').filter((s) => s !== '');
    for (const status of statuses) {
      if (!TASK_FILTER_STATUSES.includes(status)) {
        throw new BadRequest(`status must be one of ${TASK_FILTER_STATUSES.join(', ')}; got "${status}".`);
      }
    }
    const recovery = q.get('recovery');
    const query: { statuses: string[]; steps: string[]; recovery?: number; sequence?: string } = {
      statuses,
      steps: q.getAll('step').filter((s) => s !== ''),
    };
    if (recovery !== null && recovery !== '') query.recovery = wholeNumber(q, 'recovery', 0);
    const sequence = q.get('sequence');
    if (sequence !== null && sequence !== '') query.sequence = sequence;
    return { runId: run.id, tasks: tasksOf(this.reader, run.id, query) };
  }

  private whyJson(run: RunRow, q: URLSearchParams) {
    const step = q.get('step');
    if (!step) throw new BadRequest('Give the step to explain: /api/runs/<run>/why?step=<name>.');
    const shape = runShape(run);
    if (!shape) throw new NotFound(`Run "${run.id}" has no recorded shape: run() was never called on it.`);
    const view = this.graphView(q);
    const tree = view === 'compiled' ? undefined : treeView(this.reader, run);
    const known = tree?.model.node(step) !== undefined || shape.steps.some((s) => s.name === step);
    if (!known) throw new NotFound(`Run "${run.id}" has no step "${step}".`);
    return whyOf(this.reader, run, shape, step, q.get('sequence') || undefined, Date.now(), tree?.model);
  }

  /** A tree's layout, cached by its DOT (which changes when an iteration ends, not when a step does). */
  private treeSvg(run: RunRow, tree: TreeView): Promise<string> {
    return this.cached(`${run.name}\0${tree.key}`, () => renderDotSvg(tree.dot));
  }

  private svg(run: RunRow): Promise<string> {
    // runs of the same flow share one layout
    return this.cached(`${run.name}\0${shapeKey(run)}`, () => {
      const graph = runGraph(run);
      return graph ? renderSvg(graph.graph, run.name) : Promise.resolve('');
    });
  }

  /** Lays out what the run's page draws first: its tree, or its flow's graph. */
  private prepare(run: RunRow): void {
    const tree = treeView(this.reader, run);
    (tree ? this.treeSvg(run, tree) : this.svg(run)).catch(() => undefined);
  }

  private cached(key: string, render: () => Promise<string>): Promise<string> {
    let svg = this.svgCache.get(key);
    if (!svg) {
      svg = render();
      // a large flow's SVG weighs about a megabyte: keep the few most recent
      if (this.svgCache.size >= SVG_CACHE) {
        const oldest = this.svgCache.keys().next().value;
        if (oldest !== undefined) this.svgCache.delete(oldest);
      }
      this.svgCache.set(key, svg);
      svg.catch(() => this.svgCache.delete(key));
    }
    return svg;
  }

  /**
   * Server-sent events: `change` soon after the store changes. A PostgreSQL store's commits are
   * heard (LISTEN); a file's data_version is checked every watchMs while a page listens.
   */
  private async events(res: ServerResponse, run: string | undefined): Promise<void> {
    if (run !== undefined) this.run(run);
    // hello only once changes are heard: a page that saw hello misses none
    await this.watch();
    if (this.closed) throw new NotFound('The view is closing.');
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(`retry: 1000\nevent: hello\ndata: ${this.version}\n\n`);
    const listener: Listener = { res, run };
    this.listeners.add(listener);
    res.on('close', () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer && this.listening === undefined) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    });
  }

  /** Starts hearing of changes: LISTEN where the store offers it (kept while the view runs), else polling. */
  private async watch(): Promise<void> {
    const listen = this.reader.listen?.bind(this.reader);
    if (listen === undefined) {
      this.timer ??= setInterval(() => this.check(), this.watchMs);
      return;
    }
    this.listening ??= listen(
      () => this.changed(),
      () => this.poll(),
    ).catch(() => {
      this.poll();
      return undefined;
    });
    await this.listening;
  }

  /** LISTEN is unavailable or was lost: check the store every second from now on. */
  private poll(): void {
    if (this.closed || this.timer) return;
    try {
      this.version = this.reader.dataVersion();
    } catch {
      // the next check tells
    }
    this.timer = setInterval(() => this.check(), Math.max(LISTEN_FALLBACK_MS, this.watchMs));
    // what changed while the connection was going is not known: say it may have
    this.broadcast();
  }

  /** A notification: one `change` for the burst of commits it starts. */
  private changed(): void {
    if (this.closed || this.flush) return;
    this.flush = setTimeout(() => {
      this.flush = undefined;
      this.version += 1;
      this.broadcast();
    }, NOTIFY_COALESCE_MS);
  }

  private check(): void {
    if (this.closed) return;
    let version: number;
    try {
      version = this.reader.dataVersion();
    } catch {
      return;
    }
    if (version === this.version) return;
    this.version = version;
    this.broadcast();
  }

  private broadcast(): void {
    for (const listener of this.listeners) listener.res.write(`event: change\ndata: ${this.version}\n\n`);
  }

  private runsHtml(q: URLSearchParams): string {
    const query = this.runsQuery(q);
    const result = runsPage(this.reader, query, Date.now());
    const statusOptions = ['', ...RUN_STATES]
      .map(
        (s) =>
          `<option value="${s}"${s === (query.state ?? '') ? ' selected' : ''}>${s === '' ? 'any status' : s}</option>`,
      )
      .join('');
    const rows = result.runs.map(runRowHtml).join('\n');
    const link = (offset: number, text: string): string => {
      const params = new URLSearchParams();
      if (query.name) params.set('name', query.name);
      if (query.state) params.set('status', query.state);
      params.set('offset', String(offset));
      if (query.limit !== PAGE_SIZE) params.set('limit', String(query.limit));
      return `<a href="/?${escapeHtml(params.toString())}">${text}</a>`;
    };
    const first = result.total === 0 ? 0 : query.offset + 1;
    const last = Math.min(query.offset + query.limit, result.total);
    const pager = [
      query.offset > 0 ? link(Math.max(0, query.offset - query.limit), '← newer') : '',
      `<span class="count">${first}–${last} of ${result.total}</span>`,
      last < result.total ? link(query.offset + query.limit, 'older →') : '',
    ].join(' ');
    const body = `<h1>Runs <small>${escapeHtml(this.reader.location)}</small></h1>
<form class="filters" method="get" action="/">
<input type="search" name="name" placeholder="name or id" value="${escapeHtml(query.name ?? '')}">
<select name="status">${statusOptions}</select>
<button type="submit">Filter</button>
</form>
<div id="runs">
<p class="pager">${pager}</p>
<table class="runs">
<thead><tr><th>Run</th><th>Name</th><th>Status</th><th>Recovery</th><th>Started</th><th>Duration</th><th>Success</th><th>Failure</th><th>Skipped</th><th>Pending</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="10" class="empty">No runs match.</td></tr>'}
</tbody>
</table>
</div>`;
    return page(`Runs · ${this.reader.location} · eventor`, body, { page: 'runs' });
  }

  private runHtml(run: RunRow): string {
    const body = `<h1>Run <span class="run-name">${escapeHtml(run.name)}</span> <small>${escapeHtml(run.id)}</small></h1>
<p class="run-meta" id="run-meta"></p>
<section class="graph-section"><h2>Flow <span id="graph-tools" class="graph-tools"></span></h2><div id="graph" class="graph">Drawing the flow…</div></section>
<section id="step-panel" class="step-panel" hidden></section>
<section><h2>Tasks</h2><form id="task-filters" class="filters"></form><div id="tasks"></div></section>
<section><h2>Recoveries</h2><div id="recoveries"></div></section>`;
    return page(`${run.name} · ${run.id} · eventor`, body, { page: 'run', runId: run.id });
  }
}

function runRowHtml(run: RunJson): string {
  const href = `/runs/${encodeURIComponent(run.id)}`;
  const cell = (n: number, cls: string): string => `<td class="num ${n > 0 ? cls : ''}">${n}</td>`;
  return `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(run.id)}</a></td><td>${escapeHtml(run.name)}</td><td><span class="status st-${escapeHtml(run.status)}">${escapeHtml(run.status)}</span></td><td class="num">${run.recovery}</td><td>${escapeHtml(formatTime(run.startedAt))}</td><td class="num">${run.durationMs === null ? '-' : escapeHtml(formatDuration(run.durationMs))}</td>${cell(run.tasks.success, 'st-success')}${cell(run.tasks.failure, 'st-failure')}${cell(run.tasks.skipped, 'st-skipped')}${cell(run.tasks.pending, 'st-waiting')}</tr>`;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new NotFound(`Not a valid address: ${segment}.`);
  }
}

function wholeNumber(q: URLSearchParams, name: string, fallback: number): number {
  const value = q.get(name);
  if (value === null || value === '') return fallback;
  if (!/^\d+$/.test(value)) throw new BadRequest(`${name} takes a whole number >= 0; got "${value}".`);
  return Number(value);
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
