import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import * as lib from '../src/index.js';
import { createProgressView } from '../src/progress/index.js';
import { assertBuilt, tempDir } from './fixtures-cli/cli.js';
import { buildProgress } from './fixtures-cli/flows.mjs';
import { freshStore } from './helpers/test-store.mjs';

/** A store of the test's own (a file in a temp folder, or a Postgres schema: test-store.mjs). */
function tempStore(name: string): string {
  const { store, drop } = freshStore(tempDir(), name);
  onTestFinished(drop);
  return store;
}

const CHILD = fileURLToPath(new URL('./fixtures-cli/progress-run.mjs', import.meta.url));
const ESC = '\u001b';
const CURSOR_UP = new RegExp(`${ESC}\\[(\\d+)A\\r`, 'g');
const ANY_ESCAPE = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g');
const SPINNER = '[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]';

beforeAll(() => assertBuilt());

function strip(text: string): string {
  return text.replace(ANY_ESCAPE, '');
}

/** The frames a TTY view drew: the text between cursor moves, with the line count each move undid. */
function framesOf(output: string): Array<{ lines: string[]; raw: string; undoneBy?: number }> {
  const moves = [...output.matchAll(CURSOR_UP)].map((m) => Number(m[1]));
  const chunks = output.split(CURSOR_UP).filter((_, i) => i % 2 === 0); // split keeps the captured counts
  return chunks.map((raw, i) => {
    const body = raw.slice(0, raw.lastIndexOf(`${ESC}[J`) >= 0 ? raw.lastIndexOf(`${ESC}[J`) : raw.length);
    const lines = strip(body)
      .split('\n')
      .filter((line) => line.length > 0);
    const frame: { lines: string[]; raw: string; undoneBy?: number } = { lines, raw };
    if (moves[i] !== undefined) frame.undoneBy = moves[i];
    return frame;
  });
}

describe('run({ progress: true }) on a terminal', () => {
  it('draws a tree of steps in place under a pseudo-terminal, ending with the final counts', () => {
    const store = tempStore('progress.run.db');
    // util-linux script gives the child a pseudo-terminal: stderr.isTTY is true there
    const result = spawnSync(
      'script',
      [
        '-qfec',
        `${JSON.stringify(process.execPath)} ${JSON.stringify(CHILD)} ${JSON.stringify(store)} 300`,
        '/dev/null',
      ],
      { encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: undefined, TERM: 'xterm' } },
    );
    expect(result.error).toBeUndefined();
    expect(result.status, result.stderr).toBe(0);
    const output = result.stdout.replace(/\r\n/g, '\n');

    const hide = output.indexOf(`${ESC}[?25l`);
    const show = output.lastIndexOf(`${ESC}[?25h`);
    expect(hide).toBeGreaterThanOrEqual(0);
    expect(show).toBeGreaterThan(hide);
    const frames = framesOf(output.slice(hide + `${ESC}[?25l`.length, show));
    // redrawn in place several times (steps take 150-300 ms, frames come every 100 ms)
    expect(frames.length).toBeGreaterThanOrEqual(4);
    for (const frame of frames) {
      expect(frame.lines).toHaveLength(5); // header + prepare, work, check, report
      if (frame.undoneBy !== undefined) expect(frame.undoneBy).toBe(frame.lines.length);
      expect(
        frame.raw
          .split('\n')
          .filter((line) => line.length > 0)
          .every((line) => line.startsWith(`${ESC}[2K`) || line === `${ESC}[J`),
      ).toBe(true);
    }

    const first = frames[0] as (typeof frames)[number];
    expect(first.lines[0]).toMatch(/^\d+ms · 0 done · \d running · 0 failed · run r-/);
    const running = frames.find((frame) =>
      frame.lines.some((line) => /^ {2}. work {2}[1-3] running · \d+ms$/.test(line)),
    );
    expect(running?.lines.find((line) => line.includes(' work '))).toMatch(new RegExp(`^  ${SPINNER} work`));

    const last = frames.at(-1) as (typeof frames)[number];
    expect(last.lines[0]).toMatch(/^succeeded in \d+ms · 9 done · 0 running · 3 failed · run r-/);
    expect(last.lines.slice(1)).toEqual([
      '  ✔ prepare  3 done',
      '  ✔ work  3 done',
      '  ✖ check  3 failed',
      '  ✔ report  3 done',
    ]);
    expect(last.raw).toContain(`${ESC}[31m3 failed`); // coloured on a terminal
    expect(output.slice(show)).toMatch(
      /RESULT \{"ok":true,"status":"success","runId":"r-[^"]+","recovery":0\}/,
    );
  });
});

describe('run({ progress: true }) elsewhere', () => {
  it('prints one plain line per finished task and a summary when stderr is not a terminal', () => {
    const store = tempStore('progress.run.db');
    const result = spawnSync(process.execPath, [CHILD, store, '40'], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).not.toContain(ESC);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\[progress\] run r-\S+ started: 4 steps$/);
    const tasks = lines.slice(1, -1);
    expect(tasks).toHaveLength(12);
    for (const line of tasks) {
      expect(line).toMatch(
        /^\[progress\] (prepare|work|check|report)\[[abc]\] (success|failure) · \d+ done · \d+ running · \d+ failed · \d+ms$/,
      );
    }
    expect(tasks.filter((line) => line.includes('] failure'))).toHaveLength(3);
    expect(
      tasks.filter((line) => /^\[progress\] check\[/.test(line)).every((line) => line.includes('failure')),
    ).toBe(true);
    expect(lines.at(-1)).toMatch(/^\[progress\] run r-\S+ success in \d+ms · 9 done · 0 running · 3 failed$/);
    expect(result.stdout).toMatch(/^RESULT \{"ok":true/);
  });

  it('still tells the observer given next to progress: true, and writes its lines to stderr', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      written.push(String(chunk));
      return true;
    });
    const seen: string[] = [];
    try {
      const ev = buildProgress(lib, { store: tempStore('observed.run.db'), ms: 20 });
      const result = await ev.run({
        progress: true,
        observer: {
          runStarted: (info) => seen.push(`start ${info.steps.length}`),
          taskEnded: (task) => seen.push(`${task.step}[${task.sequence}] ${task.status}`),
          runEnded: (outcome) => seen.push(`end ${outcome.status}`),
        },
      });
      ev.close();
      expect(result.status).toBe('success');
    } finally {
      spy.mockRestore();
    }
    expect(seen[0]).toBe('start 4');
    expect(seen.at(-1)).toBe('end success');
    expect(seen.filter((line) => line.startsWith('check['))).toEqual([
      expect.stringMatching(/failure$/),
      expect.stringMatching(/failure$/),
      expect.stringMatching(/failure$/),
    ]);
    const progress = written
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('[progress]'));
    expect(progress).toHaveLength(14);
    expect(progress.at(-1)).toMatch(/success in \d+ms · 9 done · 0 running · 3 failed$/);
  });
});

/** A terminal-like stream that keeps what is written. */
class FakeTerminal extends Writable {
  readonly isTTY = true;
  readonly chunks: string[] = [];
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.chunks.push(chunk.toString());
    done();
  }
  get text(): string {
    return this.chunks.join('');
  }
}

describe('createProgressView', () => {
  it("nests sequent's container steps, hides their bookkeeping steps and counts skipped tasks", () => {
    const terminal = new FakeTerminal(100, 30);
    // the grouping sequent passes for s1 > (s11 > s111, s112), s12 and s2
    const view = createProgressView({
      stream: terminal as unknown as NodeJS.WriteStream,
      intervalMs: 60_000,
      groups: [
        { name: 's1', label: 's1', hides: ['s1#begin'] },
        { name: 's1_s11', parent: 's1', label: 's11', hides: ['s1_s11#begin', 's1_s11#next'] },
        { name: 's1_s11_s111', parent: 's1_s11', label: 's111' },
        { name: 's1_s11_s112', parent: 's1_s11', label: 's112' },
        { name: 's1_s12', parent: 's1', label: 's12' },
        { name: 's2', label: 's2' },
      ],
    });
    view.runStarted({
      runId: 'r-1',
      recovery: 2,
      steps: [
        's1#begin',
        's1_s11#begin',
        's1_s11_s111',
        's1_s11_s112',
        's1_s11#next',
        's1_s12',
        's2',
        'load_users',
      ],
    });
    view.taskEnded({ step: 's1#begin', sequence: '1', status: 'success', skipped: false });
    view.taskStarted({ step: 's1_s11_s111', sequence: '1.1', attempt: 1 });
    view.taskEnded({ step: 's1_s11_s111', sequence: '1.1', status: 'success', skipped: false });
    view.taskEnded({ step: 's1_s12', sequence: '1.1', status: 'success', skipped: true });
    view.taskStarted({ step: 's1_s11_s112', sequence: '1.1', attempt: 1 });
    view.taskEnded({ step: 's1_s11_s112', sequence: '1.1', status: 'failure', skipped: false });
    view.runEnded({ ok: false, status: 'failure' });
    view.close();
    const frames = framesOf(terminal.text);
    expect(frames).toHaveLength(2); // the first frame, and the final one (no timer tick in between)
    expect((frames[1] as (typeof frames)[number]).lines).toEqual([
      expect.stringMatching(
        /^failed in \d+ms · 2 done · 0 running · 1 failed · 1 skipped · run r-1 \(recovery 2\)$/,
      ),
      '  ✖ s1  2 done · 1 failed · 1 skipped',
      '    ✖ s11  1 done · 1 failed',
      '      ✔ s111  1 done',
      '      ✖ s112  1 failed',
      '    ✔ s12  1 done · 1 skipped',
      '  · s2  waiting',
      '  · load_users  waiting',
    ]);
    expect(terminal.text.endsWith(`${ESC}[?25h`)).toBe(true);
  });

  it('keeps running and failed rows when steps outnumber the terminal, and cuts lines to its width', () => {
    const terminal = new FakeTerminal(40, 8);
    const view = createProgressView({
      stream: terminal as unknown as NodeJS.WriteStream,
      intervalMs: 60_000,
    });
    const steps = Array.from(
      { length: 12 },
      (_, i) => `step_${String(i).padStart(2, '0')}_with_a_rather_long_name`,
    );
    view.runStarted({ runId: 'r-2', recovery: 0, steps });
    view.taskStarted({ step: steps[10] as string, sequence: '0', attempt: 1 });
    view.taskStarted({ step: steps[11] as string, sequence: '0', attempt: 1 });
    view.taskEnded({ step: steps[11] as string, sequence: '0', status: 'failure', skipped: false });
    view.close(); // no runEnded: close draws the last frame and gives the cursor back
    const last = framesOf(terminal.text).at(-1) as ReturnType<typeof framesOf>[number];
    // rows - 2 lines of steps at most: the 5 kept are the running one, the failed one and the first three
    expect(last.lines).toHaveLength(7);
    expect(last.lines.every((line) => line.length <= 39)).toBe(true);
    expect(last.lines.slice(1, 6).map((line) => /step_\d\d/.exec(line)?.[0])).toEqual([
      'step_00',
      'step_01',
      'step_02',
      'step_10',
      'step_11',
    ]);
    expect(last.lines[5]).toMatch(/^ {2}✖ step_11_/);
    expect(last.lines[4]).toMatch(new RegExp(`^  ${SPINNER} step_10_`));
    expect(last.lines[6]).toBe('  … 7 more steps');
    expect(terminal.text.endsWith(`${ESC}[?25h`)).toBe(true);
  });

  it('stops drawing and logs one warning when the stream fails, without throwing into the run', () => {
    const warnings: unknown[] = [];
    const logger = { debug() {}, info() {}, warn: (obj: unknown) => warnings.push(obj), error() {} };
    const broken = {
      isTTY: false,
      write() {
        throw new Error('EPIPE: the reader went away');
      },
    } as unknown as NodeJS.WriteStream;
    const view = createProgressView({ stream: broken, logger });
    expect(() => {
      view.runStarted({ runId: 'r-3', recovery: 0, steps: ['a'] });
      view.taskEnded({ step: 'a', sequence: '0', status: 'success', skipped: false });
      view.runEnded({ ok: true, status: 'success' });
      view.close();
    }).not.toThrow();
    expect(warnings).toHaveLength(1);
  });

  it('shows every step as a row of its own when no groups are given: it reads nothing into names', () => {
    const terminal = new FakeTerminal(100, 30);
    const view = createProgressView({
      stream: terminal as unknown as NodeJS.WriteStream,
      intervalMs: 60_000,
    });
    view.runStarted({ runId: 'r-4', recovery: 0, steps: ['load', 'load_users', 'load#begin'] });
    view.taskEnded({ step: 'load#begin', sequence: '1', status: 'success', skipped: false });
    view.runEnded({ ok: true, status: 'success' });
    view.close();
    const last = framesOf(terminal.text).at(-1) as ReturnType<typeof framesOf>[number];
    expect(last.lines.slice(1)).toEqual([
      '  · load  waiting',
      '  · load_users  waiting',
      '  ✔ load#begin  1 done',
    ]);
    expect(last.lines[0]).toMatch(/ · 1 done · /);
  });

  it('refuses groups that are not a list of { name, parent?, label?, hides? }, naming the option', async () => {
    expect(() => createProgressView({ groups: 'load' as never })).toThrow(lib.FlowConfigError);
    expect(() => createProgressView({ groups: [{ name: 'a', hides: 'a#b' }] as never })).toThrow(
      /run\(\{ progress: \{ groups \} \}\): group "a": hides must be an array of step names/,
    );
    const ev = new lib.Eventor({ store: tempStore('groups.run.db'), logLevel: 'silent' });
    try {
      ev.triggerEvent(ev.addEvent('go'), '1');
      await expect(ev.run({ progress: { groups: [{ label: 'x' }] as never } })).rejects.toThrow(
        /a group needs a string name/,
      );
      expect(ev.tasks()).toEqual([]);
      await expect(ev.run()).resolves.toMatchObject({ ok: true, status: 'success' });
    } finally {
      ev.close();
    }
  });
});
