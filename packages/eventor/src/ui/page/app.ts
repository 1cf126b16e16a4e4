// The page script of `eventor ui`: plain TypeScript over the DOM, bundled by esbuild at build time.
// Every name is put in the page with textContent (never as HTML); the only HTML it inserts is the
// SVG the server drew with Graphviz, which escapes the labels.

import type { ErrorJson, TaskJson, TreeJson, TreeNodeJson } from './api.js';

interface StepJson {
  name: string;
  node: string;
  state: string;
}

interface RunDetail {
  run: {
    id: string;
    name: string;
    mode: string;
    recovery: number;
    status: string;
    startedAt: number;
    endedAt: number | null;
    durationMs: number | null;
  };
  steps: StepJson[];
  recoveries: number[];
  shapeKey: string;
  tree?: TreeJson;
}

type View = 'tree' | 'compiled';

type Child = Node | string | null | undefined | false;

function h(tag: string, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

function formatDuration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m ${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function taskState(task: TaskJson): string {
  if (task.skipped) return 'skipped';
  if (task.status === 'success' || task.status === 'failure' || task.status === 'active') return task.status;
  return 'waiting';
}

function statusBadge(task: TaskJson): HTMLElement {
  return h('span', { class: `status st-${taskState(task)}` }, task.skipped ? 'skipped' : task.status);
}

function errorText(error: ErrorJson): string {
  let text = error.stack ?? `${error.name}: ${error.message}`;
  if (error.cause) text += `\nCaused by: ${errorText(error.cause)}`;
  return text;
}

function resultText(task: TaskJson): string {
  if (!('result' in task)) return '';
  const text = JSON.stringify(task.result);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Calls `refresh` after each change the server reports, one at a time (changes during one coalesce). */
function live(url: string, refresh: () => Promise<void>): void {
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await refresh();
      } while (again);
    } catch (error) {
      console.error(error);
    } finally {
      running = false;
    }
  };
  const source = new EventSource(url);
  source.addEventListener('change', () => void run());
  document.body.dataset.live = 'connecting';
  source.addEventListener('hello', () => {
    document.body.dataset.live = 'on';
  });
  source.addEventListener('error', () => {
    document.body.dataset.live = 'off';
  });
}

function runsPage(): void {
  live('/api/events', async () => {
    const res = await fetch(location.href);
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    const fresh = doc.getElementById('runs');
    const current = document.getElementById('runs');
    if (fresh && current) current.replaceWith(fresh);
  });
}

class RunPage {
  private detail: RunDetail | undefined;
  private tasks: TaskJson[] = [];
  /** The view and key of the drawing in the page ('' before the first). */
  private drawn = '';
  /** A run of a tree shows the tree unless the toggle asked for the eventor graph. */
  private view: View | undefined;
  private selected: string | undefined;
  private readonly nodeToStep = new Map<string, string>();
  private readonly treeNodes = new Map<string, TreeNodeJson>();
  /** A tree's leaves by their eventor step: the tasks the tree view lists. */
  private readonly leafByStep = new Map<string, TreeNodeJson>();
  private readonly base: string;
  private readonly filters: {
    status: HTMLSelectElement;
    step: HTMLSelectElement;
    recovery: HTMLSelectElement;
  };

  constructor(private readonly runId: string) {
    this.base = `/api/runs/${encodeURIComponent(runId)}`;
    const select = (name: string, label: string): HTMLSelectElement => {
      const el = h('select', { name, 'aria-label': label }) as HTMLSelectElement;
      el.append(h('option', { value: '' }, label));
      el.addEventListener('change', () => this.renderTasks());
      return el;
    };
    this.filters = {
      status: select('status', 'any status'),
      step: select('step', 'any step'),
      recovery: select('recovery', 'any recovery'),
    };
    for (const status of ['success', 'failure', 'skipped', 'active', 'pending']) {
      this.filters.status.append(h('option', { value: status }, status));
    }
    const form = document.getElementById('task-filters');
    form?.append(this.filters.status, this.filters.step, this.filters.recovery);
    form?.addEventListener('submit', (event) => event.preventDefault());
    document.getElementById('graph')?.addEventListener('click', (event) => {
      const target = event.target as Element;
      // a container's cluster lies under its children: a click on a leaf finds the leaf
      const node = target.closest('g.step') ?? (this.view === 'tree' ? target.closest('g.container') : null);
      const step = node ? this.nodeToStep.get(node.id.replace(/^n_/, '')) : undefined;
      if (step !== undefined) void this.select(step);
    });
  }

  async start(): Promise<void> {
    await this.refresh();
    // from the start of the navigation to the graph, tasks and recoveries in the page
    document.body.dataset.renderMs = String(Math.round(performance.now()));
    document.body.dataset.rendered = 'true';
    live(`/api/events?run=${encodeURIComponent(this.runId)}`, () => this.refresh());
  }

  async refresh(): Promise<void> {
    // the first time, the graph is fetched alongside (the server draws a tree's run as its tree)
    const first = this.drawn === '' ? this.graph(this.view) : undefined;
    const [detail, tasks] = await Promise.all([
      getJson<RunDetail>(this.base),
      getJson<{ tasks: TaskJson[] }>(`${this.base}/tasks`),
    ]);
    this.detail = detail;
    this.tasks = tasks.tasks;
    const view: View = detail.tree && this.view !== 'compiled' ? 'tree' : 'compiled';
    this.view = view;
    this.treeNodes.clear();
    this.leafByStep.clear();
    for (const node of detail.tree?.nodes ?? []) {
      this.treeNodes.set(node.path, node);
      if (node.step !== undefined) this.leafByStep.set(node.step, node);
    }
    const want = `${view}\0${view === 'tree' ? detail.tree?.key : detail.shapeKey}`;
    if (want !== this.drawn) {
      let graph = first ? await first : await this.graph(view);
      if (`${graph.view}\0${graph.key}` !== want) graph = await this.graph(view);
      const box = document.getElementById('graph');
      if (box) {
        if (graph.svg === '')
          box.textContent = 'This run recorded no flow shape (run() was never called on it).';
        else box.innerHTML = graph.svg;
        box.dataset.view = graph.view;
      }
      this.drawn = `${graph.view}\0${graph.key}`;
      this.nodeToStep.clear();
      for (const step of this.drawnSteps()) this.nodeToStep.set(step.node, step.name);
      this.fillOptions();
    }
    this.renderTools();
    this.renderMeta();
    this.colour();
    this.renderTasks();
    this.renderRecoveries();
    if (this.selected !== undefined) await this.renderStep(this.selected);
    document.body.dataset.version = String(Number(document.body.dataset.version ?? '0') + 1);
  }

  private async graph(view: View | undefined): Promise<{ svg: string; key: string; view: string }> {
    const res = await fetch(`${this.base}/graph${view ? `?view=${view}` : ''}`);
    if (!res.ok) throw new Error(`the graph: ${res.status} ${res.statusText}`);
    return {
      svg: await res.text(),
      key: res.headers.get('x-shape-key') ?? '',
      view: res.headers.get('x-graph-view') ?? 'compiled',
    };
  }

  /** The drawing's clickable nodes: a tree's steps and containers by path, or the eventor steps. */
  private drawnSteps(): Array<{ name: string; node: string; state: string }> {
    if (this.view === 'tree') {
      return (this.detail?.tree?.nodes ?? []).map((n) => ({ name: n.path, node: n.node, state: n.state }));
    }
    return this.detail?.steps ?? [];
  }

  /** The tasks the view lists: in a tree's view, the leaves' only (bookkeeping is hidden). */
  private visibleTasks(): TaskJson[] {
    return this.view === 'tree' ? this.tasks.filter((task) => this.leafByStep.has(task.step)) : this.tasks;
  }

  /** A task's step as the view names it: a leaf's path in a tree's view. */
  private stepLabel(task: TaskJson): string {
    return this.view === 'tree' ? (this.leafByStep.get(task.step)?.path ?? task.step) : task.step;
  }

  /** The toggle between a tree's drawing and the eventor graph it was compiled to. */
  private renderTools(): void {
    const tools = document.getElementById('graph-tools');
    if (!tools) return;
    if (!this.detail?.tree) {
      tools.replaceChildren();
      return;
    }
    const tree = this.view === 'tree';
    const button = h(
      'button',
      { type: 'button', id: 'graph-toggle', 'aria-pressed': String(!tree) },
      tree ? 'Show the eventor graph' : 'Show the tree',
    );
    button.addEventListener('click', () => {
      this.view = tree ? 'compiled' : 'tree';
      this.selected = undefined;
      const panel = document.getElementById('step-panel');
      if (panel) panel.hidden = true;
      void this.refresh();
    });
    tools.replaceChildren(button);
  }

  private fillOptions(): void {
    const keep = (el: HTMLSelectElement, values: string[]): void => {
      const current = el.value;
      while (el.options.length > 1) el.remove(1);
      for (const value of values) el.append(h('option', { value }, value));
      el.value = values.includes(current) ? current : '';
    };
    keep(
      this.filters.step,
      this.view === 'tree'
        ? [...this.leafByStep.values()].map((leaf) => leaf.path)
        : (this.detail?.steps ?? []).map((s) => s.name),
    );
    keep(
      this.filters.recovery,
      (this.detail?.recoveries ?? []).map((r) => String(r)),
    );
  }

  private renderMeta(): void {
    const run = this.detail?.run;
    const meta = document.getElementById('run-meta');
    if (!run || !meta) return;
    const counts = new Map<string, number>();
    for (const task of this.visibleTasks()) {
      if (task.recovery !== run.recovery) continue;
      const state = taskState(task);
      counts.set(state, (counts.get(state) ?? 0) + 1);
    }
    meta.replaceChildren(
      h('span', { class: `status st-${run.status}`, id: 'run-status' }, run.status),
      ` recovery ${run.recovery} · ${run.mode} · started ${formatTime(run.startedAt)} · ${formatDuration(run.durationMs)}${run.status === 'running' ? '+' : ''} · `,
      [...counts].map(([state, n]) => `${n} ${state}`).join(', ') || 'no tasks',
    );
  }

  private colour(): void {
    for (const step of this.drawnSteps()) {
      const el = document.getElementById(`n_${step.node}`);
      if (!el) continue;
      el.setAttribute('data-state', step.state);
      el.setAttribute('data-step', step.name);
      el.classList.toggle('selected', step.name === this.selected);
    }
  }

  private renderTasks(): void {
    const box = document.getElementById('tasks');
    if (!box) return;
    const status = this.filters.status.value;
    const step = this.filters.step.value;
    const recovery = this.filters.recovery.value;
    const rows = this.visibleTasks().filter(
      (task) =>
        (step === '' || this.stepLabel(task) === step) &&
        (recovery === '' || String(task.recovery) === recovery) &&
        (status === '' ||
          (status === 'skipped'
            ? task.skipped
            : status === 'pending'
              ? task.status !== 'success' && task.status !== 'failure'
              : task.status === status && !task.skipped)),
    );
    box.replaceChildren(this.taskTable(rows, true));
  }

  private taskTable(rows: TaskJson[], withStep: boolean): HTMLElement {
    const head = h(
      'tr',
      {},
      withStep && h('th', {}, 'Step'),
      h('th', {}, 'Sequence'),
      h('th', {}, 'Recovery'),
      h('th', {}, 'Status'),
      h('th', {}, 'Attempts'),
      h('th', {}, 'Duration'),
      h('th', {}, 'Result'),
      h('th', {}, 'Error'),
    );
    const body = h('tbody');
    for (const task of rows) {
      body.append(
        h(
          'tr',
          {},
          withStep && h('td', {}, this.stepLabel(task)),
          h('td', {}, task.sequence),
          h('td', { class: 'num' }, String(task.recovery)),
          h('td', {}, statusBadge(task)),
          h('td', { class: 'num' }, String(task.attempts)),
          h('td', { class: 'num' }, formatDuration(task.durationMs)),
          h('td', { class: 'result' }, resultText(task)),
          h(
            'td',
            { class: 'error' },
            task.error &&
              h(
                'details',
                {},
                h('summary', {}, `${task.error.name}: ${task.error.message.split('\n')[0]}`),
                h('pre', {}, errorText(task.error)),
              ),
          ),
        ),
      );
    }
    if (rows.length === 0)
      body.append(h('tr', {}, h('td', { colspan: '8', class: 'empty' }, 'No tasks match.')));
    return h('table', { class: 'tasks' }, h('thead', {}, head), body);
  }

  /** One column per recovery: what each (step, sequence) came to in it; skipped vs reran at a glance. */
  private renderRecoveries(): void {
    const box = document.getElementById('recoveries');
    const recoveries = this.detail?.recoveries ?? [];
    if (!box) return;
    if (recoveries.length < 2) {
      box.replaceChildren(
        h(
          'p',
          {},
          recoveries.length === 0
            ? 'No tasks yet.'
            : `One recovery (${recoveries[0]}): nothing was recovered.`,
        ),
      );
      return;
    }
    const cells = new Map<string, Map<number, TaskJson>>();
    for (const task of this.visibleTasks()) {
      const key = `${this.stepLabel(task)}\0${task.sequence}`;
      let row = cells.get(key);
      if (!row) {
        row = new Map();
        cells.set(key, row);
      }
      row.set(task.recovery, task);
    }
    const summary = h('tr', {}, h('th', {}, ''), h('th', {}, ''));
    for (const r of recoveries) {
      let skipped = 0;
      let ran = 0;
      let reran = 0;
      for (const row of cells.values()) {
        const task = row.get(r);
        if (!task) continue;
        if (task.skipped) skipped++;
        else if (ranBefore(row, r)) reran++;
        else ran++;
      }
      const parts = [`ran ${ran}`];
      if (r > 0) parts.push(`reran ${reran}`, `skipped ${skipped}`);
      summary.append(h('th', { class: 'recovery-summary' }, parts.join(', ')));
    }
    const head = h(
      'tr',
      {},
      h('th', {}, 'Step'),
      h('th', {}, 'Sequence'),
      ...recoveries.map((r) => h('th', {}, `Recovery ${r}`)),
    );
    const body = h('tbody');
    for (const [key, row] of cells) {
      const [step, sequence] = key.split('\0') as [string, string];
      body.append(
        h(
          'tr',
          {},
          h('td', {}, step),
          h('td', {}, sequence),
          ...recoveries.map((r) => {
            const task = row.get(r);
            if (!task) return h('td', { class: 'none' }, '—');
            const word = task.skipped ? 'skipped' : ranBefore(row, r) ? `reran: ${task.status}` : task.status;
            return h('td', {}, h('span', { class: `status st-${taskState(task)}` }, word));
          }),
        ),
      );
    }
    box.replaceChildren(h('table', { class: 'recoveries' }, h('thead', {}, head, summary), body));
  }

  private async select(step: string): Promise<void> {
    this.selected = step;
    this.colour();
    await this.renderStep(step);
  }

  private async renderStep(step: string): Promise<void> {
    const panel = document.getElementById('step-panel');
    if (!panel) return;
    const node = this.view === 'tree' ? this.treeNodes.get(step) : undefined;
    const q = `step=${encodeURIComponent(step)}&view=${this.view ?? 'compiled'}`;
    const taskStep = node ? node.step : step;
    const [tasks, why] = await Promise.all([
      taskStep === undefined
        ? Promise.resolve(undefined)
        : getJson<{ tasks: TaskJson[] }>(`${this.base}/tasks?step=${encodeURIComponent(taskStep)}`),
      getJson<{ text: string }>(`${this.base}/why?${q}`),
    ]);
    if (this.selected !== step) return;
    const close = h('button', { type: 'button', class: 'close', 'aria-label': 'close' }, '×');
    close.addEventListener('click', () => {
      this.selected = undefined;
      panel.hidden = true;
      this.colour();
    });
    const container = node?.kind === 'container';
    const parts: Child[] = [
      close,
      h('h2', {}, container ? 'Container ' : 'Step ', h('span', { class: 'step-name' }, step)),
      container && h('p', { class: 'summary' }, node?.summary ?? `Status: ${node?.state ?? ''}`),
      container && node?.iterations && iterationTableOf(node.iterations),
      tasks && h('h3', {}, 'Tasks'),
      tasks && h('div', { class: 'step-tasks' }, this.taskTable(tasks.tasks, false)),
      h('h3', {}, 'Why (as eventor why)'),
      h('pre', { class: 'why' }, why.text),
    ];
    panel.replaceChildren(...parts.filter((part): part is Node => part instanceof Node));
    panel.hidden = false;
  }
}

/** A container's iterations and their outcomes. */
function iterationTableOf(iterations: ReadonlyArray<{ sequence: string; state: string }>): HTMLElement {
  const body = h('tbody');
  for (const it of iterations) {
    const word = it.state === 'active' ? 'running' : it.state === 'not-started' ? 'not started' : it.state;
    body.append(
      h('tr', {}, h('td', {}, it.sequence), h('td', {}, h('span', { class: `status st-${it.state}` }, word))),
    );
  }
  return h(
    'table',
    { class: 'iterations' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Iteration'), h('th', {}, 'Outcome'))),
    body,
  );
}

/** The (step, sequence) had a task in a recovery before `recovery`. */
function ranBefore(row: Map<number, TaskJson>, recovery: number): boolean {
  for (const r of row.keys()) if (r < recovery) return true;
  return false;
}

const dataEl = document.getElementById('ui-data');
const data = JSON.parse(dataEl?.textContent ?? '{}') as { page?: string; runId?: string };
if (data.page === 'runs') runsPage();
else if (data.page === 'run' && data.runId !== undefined) {
  const view = new RunPage(data.runId);
  view.start().catch((error: unknown) => {
    const box = document.getElementById('graph');
    if (box) box.textContent = `Cannot load the run: ${(error as Error).message}`;
  });
}
