import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Eventor, type EventorOptions, type StepOptions } from '../src/index.js';
import { LineSplitter } from '../src/runtime/runners/lines.js';
import { captureLogger, fixture, pidAlive, tempDir, waitFor } from './fixtures/harness.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const NODE = process.execPath;

/** One eventor with a temp store: `steps` all start on event `go` in each of `sequences`. */
function flow(
  steps: Record<string, StepOptions>,
  options: EventorOptions = {},
  sequences: Array<string | number> = ['0'],
) {
  const { dir, store, cleanup } = tempDir();
  const ev = new Eventor({ store, logLevel: 'silent', ...options });
  cleanups.push(() => ev.close(), cleanup);
  const go = ev.addEvent('go');
  ev.addAssoc(
    go,
    Object.entries(steps).map(([name, step]) => ev.addStep(name, step)),
  );
  for (const sequence of sequences) ev.triggerEvent(go, sequence);
  return { ev, dir, store };
}

type Cause = { name: string; message: string; code?: string };
const causeOf = (error: unknown) => (error as { cause?: Cause } | undefined)?.cause;

describe('command steps', () => {
  it('runs an executable with args, no shell, in cwd with env; exit 0 returns the tails of its output', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const script =
      'console.log(process.cwd()); console.log(process.env.GREETING); console.error("note"); console.log(process.argv[1])';
    const { ev } = flow({
      node: {
        command: [NODE, '-e', script, '$HOME && echo not a shell'],
        cwd: dir,
        env: { GREETING: 'hallo' },
      },
      echo: { command: ['echo', '$HOME', '|', 'cat'] },
    });
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
    expect(ev.tasks({ step: 'node' })[0]?.result).toEqual({
      exitCode: 0,
      stdoutTail: [realpathSync(dir), 'hallo', '$HOME && echo not a shell'],
      stderrTail: ['note'],
    });
    expect(ev.tasks({ step: 'echo' })[0]?.result).toMatchObject({ stdoutTail: ['$HOME | cat'] });
  });

  it('runs a single string in the shell', async () => {
    const { ev } = flow({
      shell: {
        command: 'echo "$GREETING from $EVENTOR_STEP_NAME" | tr a-z A-Z && exit 0',
        env: { GREETING: 'hi' },
      },
    });
    expect((await ev.run()).ok).toBe(true);
    expect(ev.tasks()[0]?.result).toMatchObject({ exitCode: 0, stdoutTail: ['HI FROM SHELL'] });
  });

  it('fails on a non-zero exit with the code and the last lines of stderr in the error', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `echo "problem ${i}" >&2`).join('; ');
    const { ev } = flow({ bad: { command: `echo "some output"; ${lines}; exit 3` } });
    expect(await ev.run()).toMatchObject({ ok: false, status: 'failure' });
    const error = ev.tasks()[0]?.error;
    expect(error?.message).toMatch(
      /^Step "bad" failed in sequence "0": ChildExitError: Command "echo .*" exited with code 3; last lines of stderr:\n/,
    );
    expect(error?.message).toContain('problem 29');
    expect(error?.message).toContain('problem 10');
    expect(error?.message).not.toContain('problem 9\n');
    expect(causeOf(error)).toMatchObject({ name: 'ChildExitError', code: 'FLOW_CHILD_EXIT' });
  });

  it('fails with the signal when the command is killed, and with ENOENT when it does not exist', async () => {
    const { ev } = flow(
      { killed: { command: 'kill -9 $$' }, missing: { command: ['no-such-command-here', '--flag'] } },
      { config: { stopOnException: false } },
    );
    await ev.run();
    expect(ev.tasks({ step: 'killed' })[0]?.error?.message).toMatch(
      /Command "kill -9 \$\$" was killed by signal SIGKILL/,
    );
    expect(causeOf(ev.tasks({ step: 'killed' })[0]?.error)).toMatchObject({ code: 'FLOW_CHILD_SIGNAL' });
    const missing = ev.tasks({ step: 'missing' })[0]?.error?.message;
    expect(missing).toMatch(
      /cannot start command "no-such-command-here --flag": spawn no-such-command-here ENOENT/,
    );
  });

  it('fails at once, without retries, when the executable is not found, naming it, the cwd and PATH', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const { ev } = flow({
      missing: {
        command: ['no-such-tool-anywhere', '--flag'],
        cwd: dir,
        env: { PATH: '/nowhere/bin:/usr/bin' },
        config: { retries: 3, backoff: '10s' },
      },
    });
    const startedAt = Date.now();
    expect(await ev.run()).toMatchObject({ ok: false, status: 'failure' });
    expect(Date.now() - startedAt).toBeLessThan(5_000); // no backoff of 10 s was waited
    const task = ev.tasks()[0];
    expect(task).toMatchObject({ status: 'failure', attempts: 1 });
    expect(causeOf(task?.error)).toMatchObject({
      name: 'CommandNotFoundError',
      code: 'FLOW_COMMAND_NOT_FOUND',
    });
    const message = task?.error?.message ?? '';
    expect(message).toContain('Step "missing"');
    expect(message).toContain('"no-such-tool-anywhere" was not found');
    expect(message).toContain(`cwd "${dir}"`);
    expect(message).toContain('PATH "/nowhere/bin:/usr/bin"');
    expect(message).toContain('Check that the executable is installed and on that PATH');
    expect(message).toContain('Not retried');
  });

  it('fails at once, without retries, when the cwd does not exist, and says so', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const gone = join(dir, 'not-there');
    const { ev } = flow({ lost: { command: ['ls'], cwd: gone, config: { retries: 2 } } });
    expect(await ev.run()).toMatchObject({ ok: false });
    const task = ev.tasks()[0];
    expect(task).toMatchObject({ status: 'failure', attempts: 1 });
    expect(task?.error?.message).toContain(`its cwd "${gone}" does not exist`);
  });

  it('still retries a command that exits non-zero', async () => {
    const { ev } = flow({ flaky: { command: 'exit 4', config: { retries: 2, backoff: 1 } } });
    expect(await ev.run()).toMatchObject({ ok: false });
    expect(ev.tasks()[0]).toMatchObject({ status: 'failure', attempts: 3 });
  });

  it("kills a timed-out command with its whole process group: a shell's background child is gone too", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const marker = join(dir, 'grandchild');
    const { ev } = flow({
      shell: {
        command: ['sh', '-c', 'sleep 30 & echo $! > "$1"; sleep 30; wait', 'sh', marker],
        config: { timeout: '500ms' },
      },
    });
    const startedAt = Date.now();
    expect(await ev.run()).toMatchObject({ ok: false, status: 'failure' });
    expect(ev.tasks()[0]?.error).toMatchObject({ code: 'FLOW_STEP_TIMEOUT' });
    const grandchild = Number(readFileSync(marker, 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    // run() ends once the group is gone: no waiting here
    expect(pidAlive(grandchild)).toBe(false);
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });

  it('passes every line of a large output to the logger, in order, without blocking on full pipes', async () => {
    const { logger, records } = captureLogger();
    const { ev } = flow(
      { lines: { command: [NODE, fixture('lines.mjs'), '20000', '7000'] } },
      { logger, logLevel: 'info' },
    );
    expect((await ev.run()).ok).toBe(true);
    const of = (stream: string) =>
      records.filter((record) => record.fields.step === 'lines' && record.fields.stream === stream);
    const stdout = of('stdout');
    const stderr = of('stderr');
    expect(stdout).toHaveLength(20_000);
    expect(stderr).toHaveLength(7_000);
    const pad = 'x'.repeat(60);
    stdout.forEach((record, i) => {
      if (record.msg !== `out line ${i} ${pad}`) expect.fail(`stdout line ${i} is "${record.msg}"`);
    });
    stderr.forEach((record, i) => {
      if (record.msg !== `err line ${i} ${pad}`) expect.fail(`stderr line ${i} is "${record.msg}"`);
    });
    expect(new Set(stdout.map((record) => record.level))).toEqual(new Set(['info']));
    expect(new Set(stderr.map((record) => record.level))).toEqual(new Set(['warn']));
    expect(stdout[0]?.fields).toMatchObject({ step: 'lines', sequence: '0', stream: 'stdout' });
    const result = ev.tasks()[0]?.result as { stdoutTail: string[]; stderrTail: string[] };
    expect(result.stdoutTail).toHaveLength(20);
    expect(result.stdoutTail.at(-1)).toBe(`out line 19999 ${pad}`);
    expect(result.stderrTail[0]).toBe(`err line 6980 ${pad}`);
  });

  it('splits CRLF, a final line without newline and empty lines like any other line', async () => {
    const { logger, records } = captureLogger();
    const { ev } = flow(
      { crlf: { command: [NODE, '-e', 'process.stdout.write("one\\r\\ntwo\\n\\nthree\\r\\nlast")'] } },
      { logger, logLevel: 'info' },
    );
    await ev.run();
    const lines = records.filter((record) => record.fields.stream === 'stdout').map((record) => record.msg);
    expect(lines).toEqual(['one', 'two', '', 'three', 'last']);
  });

  it('gives the step its env vars, with the eventor env prefix', async () => {
    const script =
      'for (const k of ["STEP_NAME","STEP_SEQUENCE","STEP_RECOVERY","RUN_ID"]) console.log(k + "=" + process.env["ETL_" + k])';
    const { ev } = flow({ env: { command: [NODE, '-e', script] } }, { config: { envPrefix: 'ETL_' } }, [
      'day-1',
    ]);
    const result = await ev.run();
    expect(ev.tasks()[0]?.result).toMatchObject({
      stdoutTail: ['STEP_NAME=env', 'STEP_SEQUENCE=day-1', 'STEP_RECOVERY=0', `RUN_ID=${result.runId}`],
    });
  });

  it('kills a running command on stop, promptly; a recover then runs it', async () => {
    const { dir, store, cleanup } = tempDir();
    cleanups.push(cleanup);
    const marker = join(dir, 'pid');
    const build = (options: EventorOptions) => {
      const ev = new Eventor({ store, logLevel: 'silent', ...options });
      cleanups.push(() => ev.close());
      const go = ev.addEvent('go');
      ev.addAssoc(go, ev.addStep('sleepy', { command: [NODE, fixture('sleepy.mjs'), marker] }));
      ev.triggerEvent(go);
      return ev;
    };
    const first = build({});
    const running = first.run();
    await waitFor(() => nonEmpty(marker), 10_000, 'the command to start');
    const pid = Number(readFileSync(marker, 'utf8'));
    expect(pidAlive(pid)).toBe(true);
    const stoppedAt = Date.now();
    setTimeout(() => first.stop('maintenance'), 0);
    expect(await running).toMatchObject({ ok: false, status: 'failure' });
    expect(first.tasks()[0]?.error).toMatchObject({ code: 'FLOW_STEP_STOPPED' });
    await waitFor(() => !pidAlive(pid), 1_000, `command ${pid} to be gone`);
    expect(Date.now() - stoppedAt).toBeLessThan(1_000);
    first.close();

    const second = build({ runMode: 'recover' });
    expect(await second.run()).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(second.tasks({ recovery: 1 })[0]?.result).toMatchObject({ stdoutTail: ['recovered in 1'] });
  });
});

describe('LineSplitter', () => {
  it('keeps a UTF-8 character split across chunks whole and a CR split from its LF', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    const bytes = Buffer.from('grüße\r\nzwei\r\n', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of 'ü'
    splitter.write(bytes.subarray(0, cut));
    splitter.write(bytes.subarray(cut, bytes.length - 1)); // ends between \r and \n
    splitter.write(bytes.subarray(bytes.length - 1));
    splitter.write(Buffer.from('tail without newline'));
    splitter.end();
    expect(lines).toEqual(['grüße', 'zwei', 'tail without newline']);
  });

  it('passes on a line longer than 64 KiB in pieces instead of growing without bound', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    for (let i = 0; i < 100; i++) splitter.write(Buffer.from('y'.repeat(1_000)));
    splitter.end();
    expect(lines.join('')).toHaveLength(100_000);
    expect(lines.length).toBeGreaterThan(1);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(64 * 1024 + 1_000);
  });
});

function nonEmpty(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}
