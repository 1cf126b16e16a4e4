import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Eventor, type EventorOptions, type StepOptions, type StepSettings } from '../src/index.js';
import { captureLogger, pidAlive, STEPS, tempDir, waitFor } from './fixtures/harness.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function processStep(
  exportName: string,
  options: StepSettings & { args?: readonly unknown[] } = {},
): StepOptions {
  return {
    module: STEPS,
    export: exportName,
    ...options,
    config: { taskConstruct: 'process', ...options.config },
  };
}

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

type Cause = { name: string; message: string; stack?: string; code?: string };
const causeOf = (error: unknown) => (error as { cause?: Cause } | undefined)?.cause;

describe('process steps', () => {
  it('runs a module export in a child process of its own and returns its value', async () => {
    const { ev } = flow(
      {
        add: processStep('add', { args: [20, 22] }),
        echo: processStep('echo', { args: [{ list: [1, 2], when: 'now' }] }),
      },
      {},
      [1, 2],
    );
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
    expect(ev.tasks({ step: 'add' }).map((task) => task.result)).toEqual([42, 42]);
    const echoes = ev.tasks({ step: 'echo' }).map((task) => task.result as { value: unknown; pid: number });
    expect(echoes[0]?.value).toEqual({ list: [1, 2], when: 'now' });
    const pids = new Set(echoes.map((echo) => echo.pid));
    expect(pids.has(process.pid)).toBe(false);
    expect(pids.size).toBe(2); // a fresh process for each task
  });

  it('fails the step with the error name, message, stack and code the step threw', async () => {
    const { ev } = flow(
      { quota: processStep('failWithQuota', { args: [9] }), later: processStep('rejectLater') },
      { config: { stopOnException: false } },
    );
    expect(await ev.run()).toMatchObject({ ok: false, status: 'failure' });
    const quota = ev.tasks({ step: 'quota' })[0];
    expect(quota?.error?.message).toBe(
      'Step "quota" failed in sequence "0": QuotaError: quota of 9 exceeded',
    );
    const cause = causeOf(quota?.error);
    expect(cause).toMatchObject({ name: 'QuotaError', message: 'quota of 9 exceeded', code: 'E_QUOTA' });
    expect(cause?.stack).toMatch(
      /^QuotaError: quota of 9 exceeded\n\s+at failWithQuota \(.*steps\.mjs:\d+:\d+\)/,
    );
    expect(causeOf(ev.tasks({ step: 'later' })[0]?.error)).toMatchObject({
      name: 'TypeError',
      message: 'bad input from a promise',
    });
  });

  it('fails only the step whose child kills itself; the engine and the other steps go on', async () => {
    const { ev } = flow(
      {
        suicide: processStep('killSelf'),
        add: processStep('add', { args: [1, 2] }),
        inline: { func: () => 'inline ok' },
      },
      { config: { stopOnException: false } },
    );
    expect(await ev.run()).toMatchObject({ ok: false, status: 'failure' });
    const suicide = ev.tasks({ step: 'suicide' })[0];
    expect(suicide?.status).toBe('failure');
    expect(suicide?.error?.message).toMatch(
      /child process of step "suicide" was killed by signal SIGKILL before the step returned/,
    );
    expect(causeOf(suicide?.error)).toMatchObject({ name: 'ChildExitError', code: 'FLOW_CHILD_SIGNAL' });
    expect(ev.tasks({ step: 'add' })[0]).toMatchObject({ status: 'success', result: 3 });
    expect(ev.tasks({ step: 'inline' })[0]).toMatchObject({ status: 'success', result: 'inline ok' });
  });

  it('fails a step whose child exits before returning, with the exit code', async () => {
    const { ev } = flow({ exit: processStep('exitNow', { args: [5] }) });
    await ev.run();
    const exit = ev.tasks()[0];
    expect(exit?.error?.message).toMatch(
      /child process of step "exit" exited with code 5 before the step returned/,
    );
    expect(causeOf(exit?.error)).toMatchObject({ code: 'FLOW_CHILD_EXIT' });
  });

  it('fails a step whose child runs out of memory, with the end of its stderr', async () => {
    const { ev } = flow({
      oom: processStep('exhaustMemory', { env: { NODE_OPTIONS: '--max-old-space-size=32' } }),
    });
    expect(await ev.run()).toMatchObject({ ok: false, status: 'failure' });
    const message = ev.tasks()[0]?.error?.message ?? '';
    expect(message).toMatch(
      /child process of step "oom" (was killed by signal SIGABRT|exited with code \d+)/,
    );
    expect(message).toMatch(/last lines of stderr:[\s\S]*heap out of memory/);
  });

  it('fails a step whose result or args cannot cross between the engine and the child', async () => {
    const { ev } = flow(
      { result: processStep('returnsFunction'), args: processStep('add', { args: [() => 1, 2] }) },
      { config: { stopOnException: false } },
    );
    await ev.run();
    expect(ev.tasks({ step: 'result' })[0]?.error?.message).toMatch(
      /its result cannot be stored: it is a function/,
    );
    expect(ev.tasks({ step: 'args' })[0]?.error?.message).toMatch(
      /its args cannot be sent to a child process/,
    );
  });

  it('gives currentStep(), the env vars, the cwd and a logger that reaches the eventor logger', async () => {
    const { logger, records } = captureLogger();
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const { ev } = flow(
      {
        who: processStep('whoami', { args: ['FLOWT_'], env: { GREETING: 'salut' } }),
        cwd: processStep('cwd', { cwd: dir }),
        chatty: processStep('chatty'),
      },
      { logger, logLevel: 'info', config: { envPrefix: 'FLOWT_' } },
      ['7'],
    );
    const result = await ev.run();
    expect(result.ok).toBe(true);
    expect(ev.tasks({ step: 'who' })[0]?.result).toEqual({
      name: 'who',
      sequence: '7',
      recovery: 0,
      runId: result.runId,
      attempt: 1,
      aborted: false,
      env: { name: 'who', sequence: '7', recovery: '0', runId: result.runId, greeting: 'salut' },
    });
    expect(ev.tasks({ step: 'cwd' })[0]?.result).toBe(realpathSync(dir));
    const hello = records.find((record) => record.msg === 'hello from who');
    expect(hello).toMatchObject({ level: 'info', fields: { step: 'who', sequence: '7', detail: 42 } });
    const output = records.filter(
      (record) => record.fields.step === 'chatty' && record.fields.stream !== undefined,
    );
    expect(output.map((record) => [record.level, record.fields.stream, record.msg])).toEqual([
      ['info', 'stdout', 'first line on stdout'],
      ['info', 'stdout', 'second line on stdout'],
      ['warn', 'stderr', 'a line on stderr'],
    ]);
  });

  it('kills a running process step on stop, promptly; a recover then runs it', async () => {
    const { dir, store, cleanup } = tempDir();
    cleanups.push(cleanup);
    const marker = join(dir, 'pid');
    const build = (options: EventorOptions) => {
      const ev = new Eventor({ store, logLevel: 'silent', ...options });
      cleanups.push(() => ev.close());
      const go = ev.addEvent('go');
      ev.addAssoc(go, ev.addStep('long', processStep('longUnlessRecovered', { args: [marker] })));
      ev.triggerEvent(go);
      return ev;
    };
    const first = build({});
    const running = first.run();
    await waitFor(() => nonEmpty(marker), 10_000, 'the child to start');
    const pid = Number(readFileSync(marker, 'utf8'));
    expect(pidAlive(pid)).toBe(true);
    const stoppedAt = Date.now();
    first.stop('deploy window closed');
    expect(await running).toMatchObject({ ok: false, status: 'failure' });
    expect(first.tasks()[0]?.error?.message).toContain('stopped: deploy window closed');
    await waitFor(() => !pidAlive(pid), 1_500, `child ${pid} to be gone`);
    expect(Date.now() - stoppedAt).toBeLessThan(1_500);
    first.close();

    const second = build({ runMode: 'recover' });
    expect(await second.run()).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(second.tasks({ recovery: 1 })[0]).toMatchObject({
      status: 'success',
      result: 'done in recovery 1',
    });
  });
});

describe('process steps and their process group', () => {
  it('kills what a process step started (its process group) on stop', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const marker = join(dir, 'grandchild');
    const { ev } = flow({ parent: processStep('withGrandchild', { args: [marker] }) });
    const running = ev.run();
    await waitFor(() => nonEmpty(marker), 10_000, 'the grandchild to start');
    const grandchild = Number(readFileSync(marker, 'utf8'));
    expect(pidAlive(grandchild)).toBe(true);
    ev.stop('shutting down');
    expect(await running).toMatchObject({ ok: false, status: 'failure' });
    // run() ends once the stopped step's group is gone
    expect(pidAlive(grandchild)).toBe(false);
  });
});

function nonEmpty(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}
