import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, eventor, eventorOk, parseTable, tempDir } from './fixtures-cli/cli.js';
import { batchFlow, emptyFlow, nestedFlow, outsideFlow } from './fixtures-tree/flows.mjs';
import { parseTreeDot, parseTreeMermaid } from './fixtures-tree/tree-parse.js';

beforeAll(() => assertBuilt());

/** The names sequent compiles a tree to carry `#` or `@`; the tree view never shows them. */
const COMPILED = /\w#\w|\w@\w/;

/** batchFlow's store: extract failed in iteration 1.2, so batch failed and alert ran (handled). */
async function failedBatch(): Promise<string> {
  const store = join(tempDir('eventor-tree-'), 'etl.run.db');
  const result = await batchFlow({ store });
  expect(result).toMatchObject({ ok: true, status: 'success' });
  return store;
}

describe('eventor graph of a sequent run', () => {
  it('draws the tree: the container holding its steps, requires labelled with their status, iterations counted', async () => {
    const store = await failedBatch();
    const text = eventorOk('graph', store).trimEnd();
    expect(text).not.toMatch(/#35;|@/);
    const tree = parseTreeMermaid(text);
    expect([...tree.nodes.keys()]).toEqual(['batch', 'extract', 'load', 'report', 'alert']);
    expect(tree.nodes.get('batch')).toMatchObject({
      kind: 'container',
      className: 'failure',
      lines: ['batch', 'failure', '3 iterations', '1.1 success · 1.2 failure · 1.3 not started'],
    });
    expect(tree.nodes.get('extract')).toMatchObject({ kind: 'leaf', parent: 'batch', className: 'failure' });
    expect(tree.nodes.get('load')).toMatchObject({ parent: 'batch', lines: ['load', 'success'] });
    expect(tree.nodes.get('report')).toMatchObject({ lines: ['report', 'will not run'], className: 'dead' });
    expect(tree.nodes.get('report')?.parent).toBeUndefined();
    expect(tree.nodes.get('alert')).toMatchObject({ lines: ['alert', 'success'] });
    expect(tree.edges).toEqual([
      { from: 'extract', to: 'load', label: 'success', alternative: false },
      { from: 'batch', to: 'report', label: 'success', alternative: false },
      { from: 'batch', to: 'alert', label: 'failure', alternative: false },
    ]);
  });

  it('draws every kind of node in DOT, laid out by Graphviz: nested clusters, a group, or, delay, a requirement from outside', async () => {
    const store = join(tempDir('eventor-tree-'), 'nested.run.db');
    await nestedFlow({ store });
    const dot = eventorOk('graph', store, '--format', 'dot');
    expect(dot).not.toMatch(COMPILED);
    const tree = await parseTreeDot(dot);
    const parents = Object.fromEntries([...tree.nodes].map(([name, node]) => [name, node.parent ?? null]));
    expect(parents).toEqual({
      setup: null,
      batch: null,
      extract: 'batch',
      check: 'batch',
      verify: 'check',
      parts: 'batch',
      fetch: 'parts',
      store: 'parts',
      load: 'batch',
      report: null,
    });
    expect(tree.nodes.get('batch')?.kind).toBe('container');
    expect(tree.nodes.get('check')?.kind).toBe('container');
    // a repeating container shows its iterations; a group (no repeats) none
    expect(tree.headers.get('batch')).toEqual(['2 iterations', '1.1 success · 1.2 success']);
    expect(tree.headers.get('parts')).toEqual([
      '4 iterations',
      '1.1.1 success · 1.1.2 success · 1.2.1 success',
      '1.2.2 success',
    ]);
    expect(tree.headers.has('check')).toBe(false);
    expect(tree.nodes.get('load')?.lines).toEqual(['load', 'after 5ms', 'success']);
    expect(tree.edges).toEqual([
      { from: 'setup', to: 'batch', label: 'success', alternative: false },
      { from: 'extract', to: 'check', label: 'success', alternative: false },
      { from: 'check', to: 'parts', label: 'success', alternative: false },
      { from: 'fetch', to: 'store', label: 'success', alternative: false },
      { from: 'setup', to: 'store', label: 'success', alternative: false },
      { from: 'parts', to: 'load', label: 'complete', alternative: false },
      { from: 'batch', to: 'report', label: 'success (or)', alternative: true },
      { from: 'setup', to: 'report', label: 'failure (or)', alternative: true },
    ]);
    const svg = eventorOk('graph', store, '--format', 'svg');
    expect(svg).toContain('4 iterations');
    expect(svg).not.toMatch(/#(iok|iter|begin)/);
  });

  it('draws the compiled eventor graph with --compiled', async () => {
    const store = await failedBatch();
    const dot = eventorOk('graph', store, '--compiled', '--format', 'dot');
    for (const internal of ['batch#iter', 'batch#iok', 'batch#begin', 'batch#next', 'batch_extract#success'])
      expect(dot).toContain(`"${internal}`);
    expect(dot).not.toContain('cluster_');
    expect(dot).not.toContain('iterations');
  });

  it('says --compiled draws the run when its stored tree is damaged', async () => {
    const dir = tempDir('eventor-tree-');
    const store = join(dir, 'etl.run.db');
    await batchFlow({ store });
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(store);
    db.prepare('UPDATE run_shapes SET shape = json_set(shape, ?, ?)').run('$.tree.nodes[0].kind', 'box');
    db.close();
    const damaged = eventor('graph', store);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toContain('has a damaged tree description');
    expect(damaged.stderr).toContain('--compiled');
    expect(eventorOk('graph', store, '--compiled')).toContain('batch#35;begin');
  });
});

describe('eventor show of a sequent run', () => {
  it('lists the tree with its iterations, then the tasks of its leaf steps by path; --compiled every task', async () => {
    const store = await failedBatch();
    const text = eventorOk('show', store);
    const lines = text.split('\n');
    expect(lines[0]).toContain(
      '· 4 tasks of its steps (4 bookkeeping tasks not shown: --compiled shows them)',
    );
    const outline = lines
      .slice(
        1,
        lines.findIndex((line) => line.startsWith('STEP')),
      )
      .map((l) => l.split(/\s{2,}/));
    expect(outline).toEqual([
      ['Steps, as of recovery 0:'],
      ['', 'batch', 'failure', '3 iterations: 1.1 success, 1.2 failure, 1.3 not started'],
      ['', 'batch_extract', 'failure', '1 success, 1 failure, 1 not started'],
      ['', 'batch_load', 'success', '1 success, 1 will not run, 1 not started'],
      ['', 'report', 'will not run'],
      ['', 'alert', 'success'],
    ]);
    expect(text).not.toMatch(COMPILED);
    const tasks = parseTable(text).map((row) => `${row.STEP} ${row.SEQUENCE} ${row.STATUS}`);
    expect(tasks).toEqual([
      'batch_extract 1.1 success',
      'batch_load 1.1 success',
      'batch_extract 1.2 failure',
      'alert 1 success',
    ]);
    const compiled = parseTable(eventorOk('show', store, '--compiled')).map((row) => row.STEP);
    expect(compiled).toContain('batch#begin');
    expect(compiled).toContain('batch#fail');
    expect(compiled).toHaveLength(8);
    // a container's path stands for the leaf steps inside it
    const inBatch = parseTable(eventorOk('show', store, '--step', 'batch')).map((row) => row.STEP);
    expect(inBatch).toEqual(['batch_extract', 'batch_load', 'batch_extract']);
    const json = JSON.parse(eventorOk('show', store, '--json')) as Array<{ step: string; path: string }>;
    expect(json.map((task) => task.path)).toEqual(['batch_extract', 'batch_load', 'batch_extract', 'alert']);
  });

  it('counts the iterations of a recovery that reran the failed one', async () => {
    const store = await failedBatch();
    await batchFlow({ store, runMode: 'recover', failIn: '' });
    const text = eventorOk('show', store);
    expect(text).toContain('Steps, as of recovery 1:');
    expect(text).toMatch(/ {2}batch +success +3 iterations: 1\.1 success, 1\.2 success, 1\.3 success\n/);
    expect(text).toMatch(/ {4}batch_extract +success +1 skipped, 2 success\n/);
    expect(text).toMatch(/ {2}alert +will not run\n/);
    const graph = parseTreeMermaid(eventorOk('graph', store).trimEnd());
    expect(graph.nodes.get('batch')?.lines).toEqual([
      'batch',
      'success',
      '3 iterations',
      '1.1 success · 1.2 success · 1.3 success',
    ]);
  });
});

describe('eventor why of a sequent run', () => {
  it('names the requirement a leaf waits for and its iteration, never the compiled events', async () => {
    const store = await failedBatch();
    const text = eventorOk('why', store, 'batch_load');
    expect(text).not.toMatch(COMPILED);
    expect(text).toContain('batch_load[1.2] in iteration 1.2 of batch: it will not run.');
    expect(text).toContain(
      '  - It waits for batch_extract to succeed in iteration 1.2: batch_extract[1.2] failed, so it never will.',
    );
    expect(text).toContain('batch_load[1.3] in iteration 1.3 of batch: it will not run.');
    expect(text).toContain(
      '  - Iteration 1.3 of batch has not started: iteration 1.2 failed, so batch starts no further iteration.',
    );
    expect(text).toContain('batch_load[1.1] in iteration 1.1 of batch: it ran.');
    // what has not run comes first
    expect(text.indexOf('[1.2]')).toBeLessThan(text.indexOf('[1.1]'));

    const report = eventorOk('why', store, 'report');
    expect(report).toContain('report[1]: it will not run.');
    expect(report).toContain('  - It waits for batch to succeed: batch[1] failed, so it never will.');
    const batch = eventorOk('why', store, 'batch');
    expect(batch).toContain('Container batch in run r-etl (etl), recovery 0, success.');
    expect(batch).toContain('  - It ended failure: 3 iterations: 1.1 success, 1.2 failure, 1.3 not started.');

    const json = JSON.parse(eventorOk('why', store, 'batch_load', '--sequence', '1.2', '--json'));
    expect(json).toMatchObject({
      tree: true,
      node: 'batch_load',
      runs: [
        {
          sequence: '1.2',
          iterationOf: 'batch',
          verdict: 'will-not-run',
          reasons: [
            {
              kind: 'requires',
              requirement: {
                node: 'batch_extract',
                status: 'success',
                value: false,
                sequence: '1.2',
                state: 'failure',
              },
            },
          ],
        },
      ],
    });
  });

  it('explains a requirement on a step outside the container in the enclosing sequence, and a run stopped by an unhandled failure', async () => {
    const store = join(tempDir('eventor-tree-'), 'etl.run.db');
    expect(await batchFlow({ store, alert: false })).toMatchObject({ ok: false, status: 'failure' });
    const text = eventorOk('why', store, 'report');
    expect(text).toContain('  - The run stopped on an unhandled failure (run status failure):');
    expect(text).toContain(
      '      batch_extract[1.2] failed: Step "batch_extract" failed in sequence "1.2": Error: no data in 1.2',
    );
    expect(text).toContain('  - It waits for batch to succeed: batch[1] failed, so it never will.');
    expect(text).not.toMatch(COMPILED);

    const outside = join(tempDir('eventor-tree-'), 'outside.run.db');
    await outsideFlow({ store: outside });
    const b = eventorOk('why', outside, 'batch_b');
    expect(b).toContain('batch_b[1.1] in iteration 1.1 of batch: it will not run.');
    expect(b).toContain('batch_b[1.2] in iteration 1.2 of batch: it will not run.');
    // gate is beside batch: its status is the flow's (sequence 1), not the iteration's
    expect(b).toContain('  - It waits for gate to succeed: gate[1] failed, so it never will.');
    expect(b).not.toMatch(COMPILED);
    expect(eventorOk('why', outside, 'batch_a', '--sequence', '1.2')).toContain(
      'batch_a[1.2] in iteration 1.2 of batch: it ran.',
    );
  });

  it('explains the eventor step of that name with --compiled, and lists the tree paths for an unknown one', async () => {
    const store = await failedBatch();
    const compiled = eventorOk('why', store, 'batch_load', '--sequence', '1.2', '--compiled');
    expect(compiled).toContain(
      'It waits for event batch_extract#success, which has not fired in sequence 1.2.',
    );
    expect(eventorOk('why', store, 'batch#begin')).toContain('batch#begin[1]: it ran.');
    const unknown = eventor('why', store, 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'has no step "nope". Its steps: batch, batch_extract, batch_load, report, alert.',
    );
  });

  it('says why a step never runs (its container repeats nothing) and where a step runs when asked for another sequence', async () => {
    const store = join(tempDir('eventor-tree-'), 'empty.run.db');
    await emptyFlow({ store });
    expect(eventorOk('why', store, 'box_inner')).toContain(
      'box_inner: it never runs: its container box has no iterations (its repeats are empty).',
    );
    expect(eventorOk('show', store)).toMatch(/ {2}box +success +0 iterations\n {4}box_inner +not started\n/);
    expect(eventorOk('why', store, 'after', '--sequence', '7')).toContain(
      'after: it does not run in sequence 7; it runs in 1.',
    );
  });
});
