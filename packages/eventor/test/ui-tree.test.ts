import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startUi, type UiServer } from '../src/ui/server.js';
import { assertBuilt, eventorOk, PACKAGE_ROOT, tempDir } from './fixtures-cli/cli.js';
import { batchFlow, hostileTree } from './fixtures-tree/flows.mjs';
import { HOSTILE, recoveredDemo } from './fixtures-ui/flows.js';

beforeAll(() => assertBuilt());

const STATIC = join(PACKAGE_ROOT, 'dist', 'ui', 'static');
const COMPILED = /\w#\w|\w@\w/;

async function serve(store: string): Promise<UiServer> {
  const ui = await startUi({ store, port: 0, staticDir: STATIC, watchMs: 50 });
  onTestFinished(() => ui.close());
  return ui;
}

async function get(ui: UiServer, path: string) {
  const res = await fetch(new URL(path, ui.url));
  return { status: res.status, headers: res.headers, body: await res.text() };
}

interface TreeDetail {
  steps: Array<{ name: string }>;
  shapeKey: string;
  tree?: {
    key: string;
    nodes: Array<{
      path: string;
      name: string;
      kind: string;
      node: string;
      state: string;
      parent?: string;
      step?: string;
      iterations?: Array<{ sequence: string; state: string }>;
      summary?: string;
    }>;
  };
}

describe('eventor ui of a sequent run', () => {
  it('describes the run as its tree: nodes, states, the leaves steps, iterations with their outcome', async () => {
    const store = join(tempDir('eventor-ui-tree-'), 'etl.run.db');
    await batchFlow({ store });
    const ui = await serve(store);
    const detail = JSON.parse((await get(ui, '/api/runs/r-etl')).body) as TreeDetail;
    expect(detail.tree?.nodes).toEqual([
      {
        path: 'batch',
        name: 'batch',
        kind: 'container',
        node: 't0',
        state: 'failure',
        iterations: [
          { sequence: '1.1', state: 'success' },
          { sequence: '1.2', state: 'failure' },
          { sequence: '1.3', state: 'not-started' },
        ],
        summary: '3 iterations: 1.1 success, 1.2 failure, 1.3 not started',
      },
      {
        path: 'batch_extract',
        name: 'extract',
        kind: 'leaf',
        node: 't1',
        state: 'failure',
        parent: 'batch',
        step: 'batch_extract',
      },
      {
        path: 'batch_load',
        name: 'load',
        kind: 'leaf',
        node: 't2',
        state: 'success',
        parent: 'batch',
        step: 'batch_load',
      },
      { path: 'report', name: 'report', kind: 'leaf', node: 't3', state: 'dead', step: 'report' },
      { path: 'alert', name: 'alert', kind: 'leaf', node: 't4', state: 'success', step: 'alert' },
    ]);
    // the compiled steps are still there, for the toggle
    expect(detail.steps.map((s) => s.name)).toContain('batch#begin');
    expect(detail.tree?.key).toMatch(/^tree-\d+-[0-9a-z]+$/);
  });

  it('draws the tree by default (clusters, requires, iterations, no bookkeeping) and the eventor graph with view=compiled', async () => {
    const store = join(tempDir('eventor-ui-tree-'), 'etl.run.db');
    await batchFlow({ store });
    const ui = await serve(store);
    const detail = JSON.parse((await get(ui, '/api/runs/r-etl')).body) as TreeDetail;

    const tree = await get(ui, '/api/runs/r-etl/graph');
    expect(tree.status).toBe(200);
    expect(tree.headers.get('x-graph-view')).toBe('tree');
    expect(tree.headers.get('x-shape-key')).toBe(detail.tree?.key);
    expect(tree.body.startsWith('<svg')).toBe(true);
    expect(tree.body).toContain('<g id="n_t0" class="cluster container">');
    expect(tree.body).toContain('<g id="n_t1" class="node step leaf">');
    expect(tree.body).toContain('>3 iterations</text>');
    expect(tree.body).toContain('>1.1 success · 1.2 failure · 1.3 not started</text>');
    expect(tree.body).toContain('>failure</text>'); // the label of batch -> alert
    expect(tree.body).not.toMatch(COMPILED);
    expect((await get(ui, '/api/runs/r-etl/graph?view=tree')).body).toBe(tree.body);

    const compiled = await get(ui, '/api/runs/r-etl/graph?view=compiled');
    expect(compiled.headers.get('x-graph-view')).toBe('compiled');
    expect(compiled.headers.get('x-shape-key')).toBe(detail.shapeKey);
    for (const name of ['batch#begin', 'batch#iok', 'batch_extract#success'])
      expect(compiled.body).toContain(`>${name}</text>`);
    expect(compiled.body).not.toContain('cluster');

    expect((await get(ui, '/api/runs/r-etl/graph?view=flat')).status).toBe(400);
  });

  it("answers why in the tree's terms (as eventor why), and in eventor's with view=compiled", async () => {
    const store = join(tempDir('eventor-ui-tree-'), 'etl.run.db');
    await batchFlow({ store });
    const ui = await serve(store);
    const why = JSON.parse((await get(ui, '/api/runs/r-etl/why?step=batch_load')).body) as {
      text: string;
      diagnosis: unknown;
    };
    expect(why.text).toBe(eventorOk('why', store, 'batch_load').trimEnd());
    expect(why.text).toContain(
      'It waits for batch_extract to succeed in iteration 1.2: batch_extract[1.2] failed, so it never will.',
    );
    expect(why.text).not.toMatch(COMPILED);
    expect(why.diagnosis).toEqual(JSON.parse(eventorOk('why', store, 'batch_load', '--json')));
    const container = JSON.parse((await get(ui, '/api/runs/r-etl/why?step=batch')).body) as { text: string };
    expect(container.text).toContain(
      'It ended failure: 3 iterations: 1.1 success, 1.2 failure, 1.3 not started.',
    );
    const compiled = JSON.parse(
      (await get(ui, '/api/runs/r-etl/why?step=batch_load&sequence=1.2&view=compiled')).body,
    ) as { text: string };
    expect(compiled.text).toContain('It waits for event batch_extract#success');
    expect((await get(ui, '/api/runs/r-etl/why?step=batch%23begin')).status).toBe(200);
    expect((await get(ui, '/api/runs/r-etl/why?step=nope')).status).toBe(404);
  });

  it('lays the tree out again when an iteration ends, not when only a state changes', async () => {
    const store = join(tempDir('eventor-ui-tree-'), 'etl.run.db');
    await batchFlow({ store });
    const ui = await serve(store);
    const before = JSON.parse((await get(ui, '/api/runs/r-etl')).body) as TreeDetail;
    await batchFlow({ store, runMode: 'recover', failIn: '' });
    const after = JSON.parse((await get(ui, '/api/runs/r-etl')).body) as TreeDetail;
    expect(after.tree?.key).not.toBe(before.tree?.key);
    expect(after.tree?.nodes[0]?.summary).toBe('3 iterations: 1.1 success, 1.2 success, 1.3 success');
    const graph = await get(ui, '/api/runs/r-etl/graph');
    expect(graph.headers.get('x-shape-key')).toBe(after.tree?.key);
    expect(graph.body).toContain('>1.1 success · 1.2 success · 1.3 success</text>');
  });

  it('leaves a plain eventor run as it was: no tree, and view=tree is a 404', async () => {
    const store = join(tempDir('eventor-ui-tree-'), 'demo.run.db');
    const runId = await recoveredDemo(store);
    const ui = await serve(store);
    const detail = JSON.parse((await get(ui, `/api/runs/${runId}`)).body) as TreeDetail;
    expect(detail.tree).toBeUndefined();
    const graph = await get(ui, `/api/runs/${runId}/graph`);
    expect(graph.headers.get('x-graph-view')).toBe('compiled');
    const tree = await get(ui, `/api/runs/${runId}/graph?view=tree`);
    expect(tree.status).toBe(404);
    expect(tree.body).toContain('was not written as a tree');
  });

  it('escapes the names of a tree', async () => {
    const store = join(tempDir('eventor-ui-tree-'), 'hostile.run.db');
    await hostileTree({ store, name: HOSTILE });
    const ui = await serve(store);
    const escaped = '&lt;img src=x onerror=alert(1)&gt;';
    const graph = await get(ui, '/api/runs/r-hostile/graph');
    expect(graph.body).toContain(`>${escaped}</text>`);
    expect(graph.body).toContain(`>${escaped}&#45;step</text>`);
    expect(graph.body).not.toContain('<img');
    const detail = JSON.parse((await get(ui, '/api/runs/r-hostile')).body) as TreeDetail;
    expect(detail.tree?.nodes.map((n) => n.name)).toEqual([HOSTILE, `${HOSTILE}-step`]);
  });
});
