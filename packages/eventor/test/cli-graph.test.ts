import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import { assertBuilt, eventor, eventorOk, eventorWith, tempDir } from './fixtures-cli/cli.js';
import { buildDelayed, buildDemo, buildWaiting } from './fixtures-cli/flows.mjs';
import { type ParsedGraph, parseDot, parseMermaid, renderSvg } from './fixtures-cli/graph-parse.js';

beforeAll(() => assertBuilt());

/** The demo flow, run once with s2 failing; optionally recovered. */
async function demoStore(recover: boolean): Promise<{ store: string; runId: string }> {
  const store = join(tempDir(), 'demo.run.db');
  let ev = buildDemo(lib, { store, param: -9 });
  let result = await ev.run();
  ev.close();
  if (recover) {
    ev = buildDemo(lib, { store, param: 9, runMode: 'recover' });
    result = await ev.run();
    ev.close();
  }
  return { store, runId: result.runId };
}

/** The labels of the edges between two nodes, by name (undefined for an edge without one). */
function labels(graph: ParsedGraph, from: string, to: string): Array<string | undefined> {
  return graph.between(from, to).map((edge) => edge.label);
}

/** The demo's shape, whatever the format: every node and edge, by name. */
function expectDemoShape(graph: ParsedGraph, shapes: { event: string; step: string; op: string }) {
  const names = (kind: string) =>
    [...graph.nodes.values()]
      .filter((n) => n.shape === kind)
      .map((n) => n.label[0])
      .sort();
  expect(names(shapes.event)).toEqual(['done_step1', 'done_step2', 'run_step1', 'run_step2', 'run_step3']);
  expect(names(shapes.step)).toEqual(['s1', 's2', 's3']);
  expect(names(shapes.op)).toEqual(['and']);
  expect(graph.edges).toHaveLength(9);

  // assocs: event -> step, no label
  for (const [event, step] of [
    ['run_step1', 's1'],
    ['run_step2', 's2'],
    ['run_step3', 's3'],
  ] as const) {
    expect(labels(graph, event, step)).toEqual([undefined]);
  }
  // triggers: step -> event, labelled with the status
  expect(labels(graph, 's1', 'done_step1')).toEqual(['success']);
  expect(labels(graph, 's1', 'run_step2')).toEqual(['success']);
  expect(labels(graph, 's2', 'done_step2')).toEqual(['success']);
  // the expression: both inputs into the and node, the and node into run_step3
  const and = graph.byName('and', shapes.op).id;
  const into = graph.edges.filter((e) => e.to === and).map((e) => graph.nodes.get(e.from)?.label[0]);
  expect(into.sort()).toEqual(['done_step1', 'done_step2']);
  const out = graph.edges.filter((e) => e.from === and).map((e) => graph.nodes.get(e.to)?.label[0]);
  expect(out).toEqual(['run_step3']);
}

describe('eventor graph', () => {
  it('prints the latest run as a mermaid flowchart: events, steps, assocs, triggers, the and node', async () => {
    const { store, runId } = await demoStore(false);
    const text = eventorOk('graph', store);
    const graph = parseMermaid(text.trimEnd());
    expectDemoShape(graph, { event: 'stadium', step: 'box', op: 'circle' });
    // without a run id the latest run is drawn coloured by status, as `show` prints it
    expect(graph.byName('s1')).toMatchObject({ className: 'success', label: ['s1', 'success'] });
    expect(graph.byName('s2')).toMatchObject({ className: 'failure', label: ['s2', 'failure'] });
    expect(graph.byName('s3')).toMatchObject({ label: ['s3'] });
    expect(graph.byName('s3').className).toBeUndefined();
    expect(text).toBe(eventorOk('graph', store, runId));
    const kinds = (from: string, to: string) => graph.between(from, to).map((e) => e.arrow);
    expect(kinds('run_step1', 's1')).toEqual(['-->']);
    expect(kinds('s1', 'done_step1')).toEqual(['==>']);
    expect(kinds('done_step1', 'and')).toEqual(['-.->']);
  });

  it('colours each step by its latest tasks when a run is given: failure, then skipped/success after recovery', async () => {
    const { store, runId } = await demoStore(false);
    const failed = parseMermaid(eventorOk('graph', store, runId).trimEnd());
    expect(failed.byName('s1').className).toBe('success');
    expect(failed.byName('s2').className).toBe('failure');
    expect(failed.byName('s2').label).toEqual(['s2', 'failure']);
    expect(failed.byName('s3').className).toBeUndefined();

    const recovered = await demoStore(true);
    const text = eventorOk('graph', recovered.store, recovered.runId);
    const graph = parseMermaid(text.trimEnd());
    expect(graph.byName('s1')).toMatchObject({ className: 'skipped', label: ['s1', 'skipped'] });
    expect(graph.byName('s2')).toMatchObject({ className: 'success', label: ['s2', 'success'] });
    expect(graph.byName('s3')).toMatchObject({ className: 'success', label: ['s3', 'success'] });
    expect(text).toMatch(/^ {2}classDef skipped fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}/m);
  });

  it('prints DOT with the same nodes and edges, coloured, that Graphviz (wasm) renders to SVG', async () => {
    const { store, runId } = await demoStore(false);
    const text = eventorOk('graph', store, runId, '--format', 'dot');
    const graph = await parseDot(text.trimEnd());
    expectDemoShape(graph, { event: 'ellipse', step: 'box', op: 'circle' });
    expect(graph.byName('s2').attrs).toMatchObject({ fillcolor: '#ffe3e3', label: 's2\nfailure' });
    expect(graph.byName('s3').attrs?.fillcolor).toBe('#ffffff');
    expect(graph.between('done_step1', 'and')[0]?.attrs).toMatchObject({ style: 'dotted' });

    const svg = await renderSvg(text);
    expect(svg).toContain('<svg');
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const name of ['s1', 's2', 's3', 'run_step1', 'run_step3', 'done_step2', 'and', 'failure']) {
      expect(texts).toContain(name);
    }
    // one SVG group per node and per edge
    expect(svg.match(/class="node"/g)).toHaveLength(graph.nodes.size);
    expect(svg.match(/class="edge"/g)).toHaveLength(graph.edges.length);
  });

  it('writes an SVG itself with --format svg, to stdout or --out, with no Graphviz installed', async () => {
    const { store } = await demoStore(false);
    const dir = tempDir();
    const out = join(dir, 'flow.svg');
    // PATH without any `dot`: the layout is done by the WebAssembly Graphviz bundled with eventor
    const noDot = { PATH: dir };
    expect(eventorOk('graph', store, '--format', 'svg', '--out', out)).toBe('');
    const svg = readFileSync(out, 'utf8');
    expect(svg).toMatch(/^<\?xml [^>]*\?>\n<!DOCTYPE svg /);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const stdout = eventor('graph', store, '--format', 'svg');
    expect(stdout.code).toBe(0);
    expect(stdout.stdout).toBe(svg);
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const name of ['s1', 's2', 's3', 'run_step1', 'and', 'failure', 'success'])
      expect(texts).toContain(name);
    expect(svg.match(/class="node"/g)).toHaveLength(9);
    expect(svg.match(/class="edge"/g)).toHaveLength(9);
    expect(svg).toContain('fill="#ffe3e3"'); // s2 failed
    expect(
      eventorWith({ env: noDot }, 'graph', store, '--format', 'svg', '--out', join(dir, 'again.svg')).code,
    ).toBe(0);
    expect(readFileSync(join(dir, 'again.svg'), 'utf8')).toBe(svg);
  });

  it('writes a self-contained HTML page holding the SVG with --format html', async () => {
    const { store, runId } = await demoStore(false);
    const html = eventorOk('graph', store, '--format', 'html');
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain(`<title>Run ${runId} (demo) · failure</title>`);
    expect(html).not.toContain('<?xml');
    expect(html).not.toMatch(/<(script|link|img)\b/); // nothing fetched from elsewhere
    const svg = html.slice(html.indexOf('<svg'), html.indexOf('</svg>') + '</svg>'.length);
    expect(svg.match(/class="node"/g)).toHaveLength(9);
    expect(html).toMatch(/<li><span style="background:#ffe3e3;[^"]*"><\/span>failure<\/li>/);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('labels delayed assocs with their delay and draws event -> event assocs', async () => {
    const store = join(tempDir(), 'delayed.run.db');
    const ev = buildDelayed(lib, { store });
    await ev.run({ maxLoops: 1 });
    ev.close();
    for (const format of ['mermaid', 'dot'] as const) {
      const text = eventorOk('graph', store, '--format', format).trimEnd();
      const graph = format === 'dot' ? await parseDot(text) : parseMermaid(text);
      expect(labels(graph, 'go', 'now')).toEqual([undefined]);
      expect(labels(graph, 'go', 'later')).toEqual(['1h']);
      expect(labels(graph, 'go', 'wake')).toEqual(['30m']);
      expect(graph.between('wake', 'woken')).toHaveLength(1);
      if (format === 'dot') {
        const rendered = await renderSvg(text);
        for (const name of ['now', 'later', 'woken']) expect(rendered).toContain(`>${name}</text>`);
      }
    }
  });

  it('draws nested or/and expressions and failure triggers', async () => {
    const store = join(tempDir(), 'waiting.run.db');
    const ev = buildWaiting(lib, { store });
    const { runId } = await ev.run();
    ev.close();
    const graph = parseMermaid(eventorOk('graph', store, runId).trimEnd());
    const or = graph.byName('or', 'circle').id;
    const and = graph.byName('and', 'circle').id;
    const inputs = (id: string) =>
      graph.edges
        .filter((e) => e.to === id)
        .map((e) => graph.nodes.get(e.from)?.label[0])
        .sort();
    expect(inputs(or)).toEqual(['and', 'approve']);
    expect(inputs(and)).toEqual(['built', 'tested']);
    expect(graph.edges.filter((e) => e.from === or).map((e) => graph.nodes.get(e.to)?.label[0])).toEqual([
      'release',
    ]);
    expect(labels(graph, 'test', 'test_failed')).toEqual(['failure']);
    expect(graph.between('start', 'build')).toHaveLength(1);
    expect(graph.byName('test').className).toBe('failure');
    expect(graph.byName('notify').className).toBe('success');
    expect(graph.byName('publish').className).toBeUndefined();
  });

  it('escapes names that would break the syntax of either format', async () => {
    const store = join(tempDir(), 'odd.run.db');
    const ev = new lib.Eventor({ name: 'odd "names"', store, logLevel: 'silent' });
    const start = ev.addEvent('start "now"');
    const step = ev.addStep('load#1 <raw>', { func: () => 1 });
    ev.addAssoc(start, step);
    ev.triggerEvent(start);
    await ev.run();
    ev.close();
    const mermaid = parseMermaid(eventorOk('graph', store).trimEnd());
    expect(mermaid.between('start "now"', 'load#1 <raw>')).toHaveLength(1);
    const dotText = eventorOk('graph', store, '--format', 'dot').trimEnd();
    expect((await parseDot(dotText)).between('start "now"', 'load#1 <raw>')).toHaveLength(1);
    expect(await renderSvg(dotText)).toContain('load#1 &lt;raw&gt;');
  });

  it('fails with exit 1 on a run that never recorded its shape', () => {
    const store = join(tempDir(), 'shapeless.run.db');
    const ev = new lib.Eventor({ name: 'shapeless', store, logLevel: 'silent' });
    ev.triggerEvent(ev.addEvent('go'));
    ev.close();
    const result = eventor('graph', store);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Run "r-[^"]+" has no recorded shape: run\(\) was never called on it/);
  });
});
