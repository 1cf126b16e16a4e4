import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import { assertBuilt, eventor, eventorOk, parseTable, tempDir } from './fixtures-cli/cli.js';
import { buildDelayed, buildDemo } from './fixtures-cli/flows.mjs';

interface TaskJson {
  runId: string;
  step: string;
  sequence: string;
  recovery: number;
  status: string;
  attempts: number;
  skipped: boolean;
  durationMs: number | null;
  result?: unknown;
  error?: { name: string; message: string; stack?: string; cause?: { name: string; stack?: string } };
}

// One folder of stores made by real runs, shared by the tests of this file (they only read them).
let dir: string;
let demo: string; // one run: s1 succeeded, s2 failed (sqrt of -9), s3 never ran
let recovered: string; // that run, then a recover that skipped s1 and ran s2 and s3
let delayed: string; // a run cut short by maxLoops: 1 with delays pending
let failedRunId: string;
let recoveredRunId: string;

beforeAll(async () => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'eventor-cli-'));
  demo = join(dir, 'demo.run.db');
  recovered = join(dir, 'recovered.run.db');
  delayed = join(dir, 'delayed.run.db');

  let ev = buildDemo(lib, { store: demo, param: -9 });
  failedRunId = (await ev.run()).runId;
  ev.close();

  ev = buildDemo(lib, { store: recovered, param: -9 });
  await ev.run();
  ev.close();
  ev = buildDemo(lib, { store: recovered, param: 9, runMode: 'recover' });
  const result = await ev.run();
  expect(result).toMatchObject({ ok: true, status: 'success', recovery: 1 });
  recoveredRunId = result.runId;
  ev.close();

  ev = buildDelayed(lib, { store: delayed });
  expect((await ev.run({ maxLoops: 1 })).status).toBe('incomplete');
  ev.close();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('eventor runs', () => {
  it('lists a failed run with its mode, status and task counts', () => {
    const rows = parseTable(eventorOk('runs', demo));
    expect(rows).toEqual([
      expect.objectContaining({
        RUN: failedRunId,
        NAME: 'demo',
        MODE: 'restart',
        RECOVERY: '0',
        STATUS: 'failure',
        SUCCESS: '1',
        FAILURE: '1',
        SKIPPED: '0',
        PENDING: '0',
        DELAYS: '0',
      }),
    ]);
    expect(rows[0]?.STARTED).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(rows[0]?.DURATION).toMatch(/^\d+(ms|(\.\d+)?s)$/);
  });

  it('counts only the current recovery of a recovered run, skipped tasks apart', () => {
    const rows = parseTable(eventorOk('runs', recovered));
    expect(rows).toEqual([
      expect.objectContaining({
        RUN: recoveredRunId,
        MODE: 'recover',
        RECOVERY: '1',
        STATUS: 'success',
        SUCCESS: '2',
        FAILURE: '0',
        SKIPPED: '1',
        PENDING: '0',
      }),
    ]);
  });

  it('shows a run cut short by maxLoops as incomplete, with its pending delays', () => {
    const rows = parseTable(eventorOk('runs', delayed));
    expect(rows[0]).toMatchObject({ STATUS: 'incomplete', SUCCESS: '1', PENDING: '0', DELAYS: '2' });
  });

  it('lists several runs oldest first, and prints JSON with --json', async () => {
    const store = join(tempDir(), 'two.run.db');
    const first = buildDemo(lib, { store, param: 4 });
    const firstId = (await first.run()).runId;
    first.close();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = buildDemo(lib, { store, param: -1 });
    const secondId = (await second.run()).runId;
    second.close();

    expect(parseTable(eventorOk('runs', store)).map((row) => [row.RUN, row.STATUS])).toEqual([
      [firstId, 'success'],
      [secondId, 'failure'],
    ]);
    const json = JSON.parse(eventorOk('runs', store, '--json'));
    expect(json).toEqual([
      expect.objectContaining({
        id: firstId,
        status: 'success',
        recovery: 0,
        tasks: { success: 3, failure: 0, skipped: 0, pending: 0 },
        pendingDelays: 0,
      }),
      expect.objectContaining({
        id: secondId,
        status: 'failure',
        tasks: { success: 1, failure: 1, skipped: 0, pending: 0 },
      }),
    ]);
    expect(json[0].durationMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(json[0].startedAt)).not.toBeNaN();
  });

  it("shows a run whose process left it 'running' as interrupted", () => {
    const store = join(tempDir(), 'left.run.db');
    const ev = new lib.Eventor({ name: 'left', store, logLevel: 'silent' });
    ev.triggerEvent(ev.addEvent('go'));
    ev.close(); // run() never called: the run row stays 'running' with no live holder
    const [row] = parseTable(eventorOk('runs', store));
    expect(row).toMatchObject({ STATUS: 'interrupted', DURATION: '-' });
  });
});

describe('eventor show', () => {
  it("prints the latest run's tasks with status, attempts and the first line of each error", () => {
    const out = eventorOk('show', demo);
    expect(out.split('\n')[0]).toBe(
      `Run ${failedRunId} (demo) · failure · recovery 0 · started ${parseTable(eventorOk('runs', demo))[0]?.STARTED} · 2 tasks`,
    );
    const rows = parseTable(out);
    expect(
      rows.map((row) => [row.STEP, row.SEQUENCE, row.RECOVERY, row.STATUS, row.ATTEMPTS, row.SKIPPED]),
    ).toEqual([
      ['s1', '3', '0', 'success', '1', ''],
      ['s2', '3', '0', 'failure', '1', ''],
    ]);
    expect(rows[0]?.ERROR).toBe('');
    expect(rows[1]?.ERROR).toBe(
      'Step "s2" failed in sequence "3": RangeError: math domain error: cannot take the square root of -9',
    );
    expect(rows[0]?.DURATION).toMatch(/^\d+ms$/);
  });

  it('shows every recovery of a recovered run, the skipped task marked', () => {
    const rows = parseTable(eventorOk('show', recovered, recoveredRunId));
    expect(rows.map((row) => `${row.STEP}/${row.RECOVERY}/${row.STATUS}/${row.SKIPPED}`)).toEqual([
      's1/0/success/',
      's2/0/failure/',
      's1/1/success/yes',
      's2/1/success/',
      's3/1/success/',
    ]);
    expect(rows[2]?.DURATION).toBe('-');
  });

  it('filters by --status (several allowed, skipped and pending included), --step and --recovery', () => {
    const byStatus = parseTable(eventorOk('show', recovered, '--status', 'failure'));
    expect(byStatus.map((row) => `${row.STEP}/${row.RECOVERY}`)).toEqual(['s2/0']);
    const skipped = parseTable(eventorOk('show', recovered, '--status', 'skipped'));
    expect(skipped.map((row) => `${row.STEP}/${row.RECOVERY}`)).toEqual(['s1/1']);
    const either = parseTable(eventorOk('show', recovered, '--status', 'skipped', '--status', 'failure'));
    expect(either.map((row) => `${row.STEP}/${row.RECOVERY}`)).toEqual(['s2/0', 's1/1']);
    const steps = parseTable(eventorOk('show', recovered, '--step', 's2', '--step', 's3'));
    expect(steps.map((row) => `${row.STEP}/${row.RECOVERY}`)).toEqual(['s2/0', 's2/1', 's3/1']);
    const recovery = parseTable(eventorOk('show', recovered, '--recovery', '1', '--step', 's2'));
    expect(recovery.map((row) => `${row.STEP}/${row.RECOVERY}/${row.STATUS}`)).toEqual(['s2/1/success']);
    const none = eventorOk('show', recovered, '--status', 'pending');
    expect(none.trim().split('\n')).toHaveLength(1);
    expect(none).toContain('0 tasks matching');
  });

  it('prints records with results and full errors with --json', () => {
    const tasks = JSON.parse(eventorOk('show', recovered, '--json')) as TaskJson[];
    expect(tasks.map((t) => [t.step, t.recovery, t.status, t.skipped])).toEqual([
      ['s1', 0, 'success', false],
      ['s2', 0, 'failure', false],
      ['s1', 1, 'success', true],
      ['s2', 1, 'success', false],
      ['s3', 1, 'success', false],
    ]);
    expect(tasks[0]).toMatchObject({ runId: recoveredRunId, sequence: '3', attempts: 1, result: 9 });
    expect(tasks[2]).toMatchObject({ result: 9, durationMs: null });
    expect(tasks[3]).toMatchObject({ result: 3 });
    expect(tasks[4]).toMatchObject({ result: 3 });
    expect(tasks[1]?.error).toMatchObject({
      name: 'StepFailedError',
      message:
        'Step "s2" failed in sequence "3": RangeError: math domain error: cannot take the square root of -9',
    });
    // the step's own error travels as the cause, with the stack of the user's code
    expect(tasks[1]?.error?.cause).toMatchObject({ name: 'RangeError' });
    expect(tasks[1]?.error?.cause?.stack).toContain('squareRoot');
    expect(tasks[1]?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('shows a pending-delay run: the immediate step done, the delayed ones absent', () => {
    const rows = parseTable(eventorOk('show', delayed));
    expect(rows.map((row) => `${row.STEP}/${row.STATUS}`)).toEqual(['now/success']);
  });
});

describe('eventor command line', () => {
  it('prints help for the command and for each subcommand, exit 0', () => {
    const main = eventorOk('--help');
    for (const name of ['runs', 'show', 'why', 'graph']) expect(main).toMatch(new RegExp(`^  ${name} `, 'm'));
    for (const name of ['runs', 'show', 'why', 'graph']) {
      const help = eventorOk(name, '--help');
      expect(help.startsWith(`Usage: eventor ${name} <store>`)).toBe(true);
      expect(eventorOk('help', name)).toBe(help);
    }
    expect(eventorOk('--version').trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects an unknown command, a missing command and bad arguments with exit 2 on stderr', () => {
    const unknown = eventor('list', demo);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain(
      'eventor: unknown command "list". Commands: runs, show, why, graph, ui.',
    );
    expect(eventor().code).toBe(2);
    expect(eventor().stderr).toContain('missing command');

    const option = eventor('show', demo, '--colour');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("eventor show: Unknown option '--colour'");
    expect(option.stderr).toContain('Run `eventor show --help` for usage.');

    expect(eventor('runs').stderr).toContain('eventor runs: missing <store>.');
    expect(eventor('runs').code).toBe(2);
    expect(eventor('runs', demo, 'extra').code).toBe(2);
    expect(eventor('show', demo, '--status', 'done').stderr).toContain('--status must be one of');
    expect(eventor('show', demo, '--recovery', 'one').code).toBe(2);
    expect(eventor('why', demo).stderr).toContain('eventor why: missing <step>.');
    const format = eventor('graph', demo, '--format', 'png');
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--format must be one of mermaid, dot, svg, html; got "png"');
  });

  it('fails with exit 1 and a clear message on a missing store, without creating it', () => {
    const missing = join(tempDir(), 'nope.run.db');
    for (const command of ['runs', 'show', 'graph']) {
      const result = eventor(command, missing);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`eventor: No store file at "${missing}"`);
    }
    expect(eventor('why', missing, 's1').code).toBe(1);
    expect(existsSync(missing)).toBe(false);
  });

  it('fails with exit 1 on a file that is not an eventor store, or from a newer schema', () => {
    const folder = tempDir();
    const text = join(folder, 'notes.txt');
    writeFileSync(
      text,
      'not a database at all, just some words to fill a page of sqlite header\n'.repeat(20),
    );
    const notSqlite = eventor('runs', text);
    expect(notSqlite.code).toBe(1);
    expect(notSqlite.stderr).toContain('Is it an eventor store file');

    const other = join(folder, 'other.db');
    new Database(other).exec('CREATE TABLE things (id INTEGER)').close();
    const otherResult = eventor('runs', other);
    expect(otherResult.code).toBe(1);
    expect(otherResult.stderr).toContain(
      'is not an eventor store: it has no runs, tasks, triggers, delays tables',
    );

    const newer = join(folder, 'newer.run.db');
    new lib.Eventor({ name: 'newer', store: newer, logLevel: 'silent' }).close();
    const db = new Database(newer);
    db.prepare('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)').run(
      'future',
      Date.UTC(2100, 0, 1),
    );
    db.close();
    const newerResult = eventor('runs', newer);
    expect(newerResult.code).toBe(1);
    expect(newerResult.stderr).toContain('was written by a newer version of @flow/eventor');
  });

  it('fails with exit 1 naming the latest runs when the run id is unknown', () => {
    const result = eventor('show', demo, 'r-nope');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`No run "r-nope" in the store at "${demo}". Latest runs: ${failedRunId}`);
  });
});

describe('eventor on a run of 200,000 tasks', () => {
  it('show prints every task and why explains a step, without spreading the rows into a call', async () => {
    // 100 steps fanned out from one event, over 2,000 sequences: 200,000 tasks in a few seconds
    const store = join(tempDir(), 'large.run.db');
    const ev = new lib.Eventor({ name: 'large', store, logLevel: 'silent' });
    const go = ev.addEvent('go');
    const steps = Array.from({ length: 100 }, (_, i) => ev.addStep(`step_${i}`, {}));
    ev.addStep('never', {});
    ev.addAssoc(go, steps);
    for (let sequence = 0; sequence < 2000; sequence++) ev.triggerEvent(go, sequence);
    const { runId, status } = await ev.run();
    ev.close();
    expect(status).toBe('success');

    const lines = eventorOk('show', store).trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Run ${runId} \\(large\\) · success · .* · 200000 tasks$`));
    expect(lines).toHaveLength(2 + 200_000);
    expect(lines[1]).toMatch(
      /^STEP {5}SEQUENCE {2}RECOVERY {2}STATUS {3}ATTEMPTS {2}DURATION {2}SKIPPED {2}ERROR$/,
    );
    expect(lines.at(-1)).toMatch(/^step_\d+ +\d+ +0 {2}success +1 +\d+ms$/);

    // `never` has no task and nothing starts it: why looks at the run's first task among all 200,000
    const why = eventorOk('why', store, 'never');
    expect(why).toContain('- No assoc targets never: nothing in the flow starts it.');
    expect(parseTable(eventorOk('runs', store))[0]).toMatchObject({ RUN: runId, SUCCESS: '200000' });
  }, 120_000);
});
