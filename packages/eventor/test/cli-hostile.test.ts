import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import { createProgressView } from '../src/progress/index.js';
import { assertBuilt, eventor, eventorOk, parseTable, tempDir } from './fixtures-cli/cli.js';
import { parseDot, parseMermaid, renderSvg } from './fixtures-cli/graph-parse.js';

beforeAll(() => assertBuilt());

// What a terminal acts on instead of showing (newline aside, which separates lines): C0 controls,
// DEL, C1 controls, bidi overrides and isolates, line separators. Written out here, not imported,
// so the test does not share the code it checks.
const ESC = '\u001b';

function isRawControl(code: number): boolean {
  return (
    (code < 0x20 && code !== 0x0a) ||
    (code >= 0x7f && code <= 0x9f) ||
    [0x061c, 0x200e, 0x200f, 0x2028, 0x2029].includes(code) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** Names that retitle the terminal (OSC 0 … BEL), clear it (CSI 2J), break lines and reorder text. */
const HOSTILE = {
  flow: 'nightly\u001b]0;pwned\u0007 "batch" \\',
  event: 'go\u001b[2J\n"now"',
  step: 'load\nusers\u202e\u009b\t<x>',
  sequence: 'seq\u001b[2J\r1',
  error: 'disk \u001b]0;owned\u0007 full \u001b[2J',
};
/** The same names as the CLI must show them: every control written out as an escape. */
const SHOWN = {
  flow: 'nightly\\x1b]0;pwned\\x07 "batch" \\',
  event: 'go\\x1b[2J\\n"now"',
  step: 'load\\nusers\\u202e\\x9b\\t<x>',
  sequence: 'seq\\x1b[2J\\r1',
};

/** A run of a flow named with control characters whose step fails with one in its message. */
async function hostileStore(): Promise<{ store: string; runId: string }> {
  const store = join(tempDir(), 'hostile.run.db');
  const ev = new lib.Eventor({ name: HOSTILE.flow, store, logLevel: 'silent' });
  const go = ev.addEvent(HOSTILE.event);
  const done = ev.addEvent('done\u0007');
  const step = ev.addStep(HOSTILE.step, {
    func: () => {
      throw new Error(`${HOSTILE.error}\nsecond line`);
    },
  });
  const waiting = ev.addStep('waits\u001b[2J', {});
  ev.addAssoc(go, step);
  ev.addAssoc(done, waiting);
  ev.triggerEvent(go, HOSTILE.sequence);
  const result = await ev.run();
  ev.close();
  expect(result.status).toBe('failure');
  return { store, runId: result.runId };
}

function expectNoRawControl(text: string, what: string): void {
  let at = -1;
  for (let i = 0; i < text.length && at < 0; i++) if (isRawControl(text.charCodeAt(i))) at = i;
  const found =
    at < 0
      ? 'none'
      : `U+${text.charCodeAt(at).toString(16)} at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 20), at + 20))}`;
  expect(found, `raw control character in the output of ${what}`).toBe('none');
}

describe('the CLI on names and errors holding control characters', () => {
  it('runs, show and why print them escaped, never raw, and keep one line per row', async () => {
    const { store, runId } = await hostileStore();
    const outputs: Record<string, string> = {};
    for (const args of [
      ['runs', store],
      ['runs', store, '--json'],
      ['show', store],
      ['show', store, '--json'],
      ['why', store, HOSTILE.step],
      ['why', store, 'waits\u001b[2J'],
      ['why', store, HOSTILE.step, '--json'],
    ]) {
      const result = eventor(...args);
      expect(result.code, result.stderr).toBe(0);
      expectNoRawControl(result.stdout, args.join(' '));
      expectNoRawControl(result.stderr, args.join(' '));
      outputs[args.slice(0, 1).concat(args.slice(2)).join(' ')] = result.stdout;
    }

    const runs = outputs.runs as string;
    expect(runs.trimEnd().split('\n')).toHaveLength(2);
    expect(parseTable(runs)[0]).toMatchObject({ RUN: runId, STATUS: 'failure' });
    expect(runs).toContain(SHOWN.flow);

    const show = (outputs.show as string).trimEnd().split('\n');
    expect(show).toHaveLength(3); // the headline, the header, the one task
    expect(show[0]).toBe(
      `Run ${runId} (${SHOWN.flow}) · failure · recovery 0 · started ${show[0]?.split(' · started ')[1]}`,
    );
    expect(show[2]).toContain(`${SHOWN.step}  ${SHOWN.sequence}`);
    expect(show[2]).toContain('disk \\x1b]0;owned\\x07 full \\x1b[2J');

    const why = outputs[`why ${HOSTILE.step}`] as string;
    expect(why).toContain(`${SHOWN.step}[${SHOWN.sequence}]: it ran.`);
    expect(why).toContain('disk \\x1b]0;owned\\x07 full');
    expect(outputs['why waits\u001b[2J']).toContain('It waits for event done\\x07');

    // JSON keeps the names as data: parsed back, they are what the flow wrote
    const records = JSON.parse(outputs['show --json'] as string) as Array<{ step: string; sequence: string }>;
    expect(records).toMatchObject([{ step: HOSTILE.step, sequence: HOSTILE.sequence }]);
    expect(JSON.parse(outputs['runs --json'] as string)[0].name).toBe(HOSTILE.flow);
    expect(JSON.parse(outputs[`why ${HOSTILE.step} --json`] as string).step).toBe(HOSTILE.step);
  });

  it('escapes them in error messages on stderr', async () => {
    const { store } = await hostileStore();
    const result = eventor('why', store, 'no such\u001b]0;x\u0007');
    expect(result.code).toBe(1);
    expectNoRawControl(result.stderr, 'why <unknown step>');
    expect(result.stderr).toContain('has no step "no such\\x1b]0;x\\x07". Its steps: ');
    expect(result.stderr).toContain(SHOWN.step);
  });

  it('graph keeps mermaid, DOT, SVG and HTML valid and free of raw controls, names shown escaped', async () => {
    const { store } = await hostileStore();
    const mermaidText = eventorOk('graph', store);
    expectNoRawControl(mermaidText, 'graph');
    const mermaid = parseMermaid(mermaidText.trimEnd());
    expect(mermaid.between(SHOWN.event, SHOWN.step)).toHaveLength(1);
    expect(mermaid.byName(SHOWN.step).className).toBe('failure');

    const dotText = eventorOk('graph', store, '--format', 'dot');
    expectNoRawControl(dotText, 'graph --format dot');
    const dot = await parseDot(dotText); // Graphviz itself parses it
    expect(dot.between(SHOWN.event, SHOWN.step)).toHaveLength(1);
    expect(dot.byName(SHOWN.step).label).toEqual([SHOWN.step, 'failure']);
    expect(await renderSvg(dotText)).toContain('&lt;x&gt;');

    for (const format of ['svg', 'html']) {
      const out = join(tempDir(), `graph.${format}`);
      eventorOk('graph', store, '--format', format, '--out', out);
      const text = readFileSync(out, 'utf8');
      expectNoRawControl(text, `graph --format ${format}`);
      expect(text).toContain('load\\nusers\\u202e\\x9b\\t&lt;x&gt;');
      if (format === 'html') expect(text).toContain('<title>Run r-');
    }
  });
});

/** A stream that says it is a terminal and keeps what is written. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly columns = 200;
  readonly rows = 40;
  readonly chunks: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.chunks.push(chunk.toString());
    done();
  }
}

/** A pipe: not a terminal, so the view writes one plain line per task. */
class FakePipe extends Writable {
  readonly chunks: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.chunks.push(chunk.toString());
    done();
  }
}

describe('the progress view on names holding control characters', () => {
  it('draws them escaped on a terminal and in plain lines; its own cursor codes are all that is raw', async () => {
    for (const stream of [new FakeTerminal(), new FakePipe()]) {
      const store = join(tempDir(), 'progress.run.db');
      const ev = new lib.Eventor({ name: HOSTILE.flow, store, logLevel: 'silent' });
      const go = ev.addEvent(HOSTILE.event);
      const step = ev.addStep(HOSTILE.step, { func: () => 1 });
      ev.addAssoc(go, step);
      ev.triggerEvent(go, HOSTILE.sequence);
      const view = createProgressView({
        stream: stream as unknown as NodeJS.WriteStream,
        intervalMs: 60_000,
      });
      const result = await ev.run({ observer: view });
      view.close();
      ev.close();
      expect(result.status).toBe('success');
      const text = stream.chunks.join('');
      // the view's own sequences: cursor hide/show, clear line, clear below, cursor up, colours
      const own = new RegExp(`${ESC}\\[(\\?25[lh]|2K|J|\\d+A\\r|[0-9;]*m)`, 'g');
      expectNoRawControl(text.replace(own, ''), stream instanceof FakeTerminal ? 'terminal' : 'pipe');
      expect(text).toContain(
        stream instanceof FakeTerminal ? SHOWN.step : `${SHOWN.step}[${SHOWN.sequence}]`,
      );
    }
  });
});
