import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Eventor, type EventorOptions, type StepOptions, type StepSettings } from '../src/index.js';
import { runnerStats } from '../src/runtime/runners/index.js';
import { captureLogger, STEPS, tempDir, waitFor } from './fixtures/harness.js';
import { assertDistIsCurrent } from './helpers/child.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function workerStep(
  exportName: string,
  options: StepSettings & { args?: readonly unknown[] } = {},
): StepOptions {
  return {
    module: STEPS,
    export: exportName,
    ...options,
    config: { taskConstruct: 'worker', ...options.config },
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

describe('worker steps', () => {
  it('runs a module export in a worker thread of this process and returns its value', async () => {
    const { ev } = flow({
      add: workerStep('add', { args: [2, 3] }),
      echo: workerStep('echo', { args: [{ deep: [1, 'two'] }] }),
    });
    const result = await ev.run();
    expect(result).toMatchObject({ ok: true, status: 'success' });
    const [add, echo] = [ev.tasks({ step: 'add' })[0], ev.tasks({ step: 'echo' })[0]];
    expect(add).toMatchObject({ status: 'success', result: 5, attempts: 1 });
    const echoed = echo?.result as { value: unknown; pid: number; threadId: number };
    expect(echoed.value).toEqual({ deep: [1, 'two'] });
    expect(echoed.pid).toBe(process.pid);
    expect(echoed.threadId).not.toBe(threadId);
  });

  it('reuses pooled workers: one at a time under maxConcurrent 1', async () => {
    const { ev } = flow(
      { echo: workerStep('echo', { args: ['x'] }) },
      { config: { maxConcurrent: 1 } },
      [1, 2, 3, 4, 5, 6],
    );
    expect((await ev.run()).ok).toBe(true);
    const threads = new Set(ev.tasks().map((task) => (task.result as { threadId: number }).threadId));
    expect(ev.tasks()).toHaveLength(6);
    expect(threads.size).toBe(1);
  });

  it('never holds more workers than the machine has cores when there is no cap; extra steps wait for one', async () => {
    const cores = availableParallelism();
    const { ev } = flow(
      { echo: workerStep('interval', { args: ['/dev/null', 'x', 30] }) },
      {},
      Array.from({ length: cores * 3 }, (_, i) => i),
    );
    const running = ev.run();
    let most = 0;
    const sample = setInterval(() => {
      most = Math.max(most, runnerStats().workers);
    }, 5);
    expect((await running).ok).toBe(true);
    clearInterval(sample);
    expect(ev.tasks().filter((task) => task.status === 'success')).toHaveLength(cores * 3);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(cores);
  });

  it('fails the step with the error name, message, stack and code the step threw', async () => {
    const { ev } = flow(
      { quota: workerStep('failWithQuota', { args: [7] }), later: workerStep('rejectLater') },
      { config: { stopOnException: false } },
    );
    const result = await ev.run();
    expect(result).toMatchObject({ ok: false, status: 'failure' });
    const quota = ev.tasks({ step: 'quota' })[0];
    expect(quota?.status).toBe('failure');
    expect(quota?.error?.message).toBe(
      'Step "quota" failed in sequence "0": QuotaError: quota of 7 exceeded',
    );
    const cause = causeOf(quota?.error);
    expect(cause).toMatchObject({ name: 'QuotaError', message: 'quota of 7 exceeded', code: 'E_QUOTA' });
    expect(cause?.stack).toMatch(
      /^QuotaError: quota of 7 exceeded\n\s+at failWithQuota \(.*steps\.mjs:\d+:\d+\)/,
    );
    const later = ev.tasks({ step: 'later' })[0];
    expect(later?.error?.message).toContain('TypeError: bad input from a promise');
    expect(causeOf(later?.error)?.stack).toContain('at rejectLater');
  });

  it('fails a step whose result or args cannot cross to or from the thread, and the pool goes on', async () => {
    const { ev } = flow(
      {
        result: workerStep('returnsFunction'),
        args: workerStep('add', { args: [() => 1, 2] }),
        fine: workerStep('add', { args: [1, 1] }),
      },
      { config: { stopOnException: false, maxConcurrent: 1 } },
    );
    await ev.run();
    expect(ev.tasks({ step: 'result' })[0]?.error?.message).toMatch(
      /its result cannot be stored: it is a function/,
    );
    expect(ev.tasks({ step: 'args' })[0]?.error?.message).toMatch(
      /its args cannot be sent to a worker thread/,
    );
    expect(ev.tasks({ step: 'fine' })[0]).toMatchObject({ status: 'success', result: 2 });
  });

  it('fails only the step whose worker exits, and replaces the worker', async () => {
    const { ev } = flow(
      { exit: workerStep('exitNow', { args: [3] }), after: workerStep('echo', { args: ['still here'] }) },
      { config: { stopOnException: false, maxConcurrent: 1 } },
      [1, 2],
    );
    await ev.run();
    const exits = ev.tasks({ step: 'exit' });
    expect(exits.map((task) => task.status)).toEqual(['failure', 'failure']);
    expect(exits[0]?.error?.message).toMatch(/worker thread running the step exited with code 3/);
    expect(ev.tasks({ step: 'after' }).map((task) => task.status)).toEqual(['success', 'success']);
  });

  it('fails with a clear message when the module or its export is missing', async () => {
    const { ev } = flow(
      {
        noModule: { module: join(STEPS, '..', 'nope.mjs'), export: 'x', config: { taskConstruct: 'worker' } },
        noExport: workerStep('nope'),
      },
      { config: { stopOnException: false } },
    );
    await ev.run();
    expect(ev.tasks({ step: 'noModule' })[0]?.error?.message).toMatch(/cannot import module ".*nope\.mjs"/);
    expect(ev.tasks({ step: 'noExport' })[0]?.error?.message).toMatch(
      /has no function export "nope" \(exports: .*add/,
    );
  });

  it('gives currentStep(), the env vars and a logger that reaches the eventor logger', async () => {
    const { logger, records } = captureLogger();
    const { ev } = flow(
      {
        who: workerStep('whoami', { args: ['FLOWT_'], env: { GREETING: 'hej' } }),
        // runs after `who` in the same worker: the step's env must not leak into the next step
        leak: workerStep('envOf', { args: ['GREETING'] }),
      },
      { logger, logLevel: 'info', config: { envPrefix: 'FLOWT_', maxConcurrent: 1 } },
      ['s1'],
    );
    const result = await ev.run();
    expect(result.ok).toBe(true);
    const who = ev.tasks({ step: 'who' })[0];
    expect(who?.result).toEqual({
      name: 'who',
      sequence: 's1',
      recovery: 0,
      runId: result.runId,
      attempt: 1,
      aborted: false,
      env: { name: 'who', sequence: 's1', recovery: '0', runId: result.runId, greeting: 'hej' },
    });
    expect(ev.tasks({ step: 'leak' })[0]?.result).toBe(process.env.GREETING ?? null);
    const hello = records.find((record) => record.msg === 'hello from who');
    expect(hello).toMatchObject({
      level: 'info',
      fields: { step: 'who', sequence: 's1', detail: 42, runId: result.runId },
    });
  });

  it('stops a running worker step that honours its signal at once; a recover then runs it', async () => {
    const { dir, store, cleanup } = tempDir();
    cleanups.push(cleanup);
    const marker = join(dir, 'started');
    const build = (options: EventorOptions) => {
      const ev = new Eventor({ store, logLevel: 'silent', ...options });
      cleanups.push(() => ev.close());
      const go = ev.addEvent('go');
      ev.addAssoc(go, ev.addStep('long', workerStep('longUnlessRecovered', { args: [marker] })));
      ev.triggerEvent(go);
      return { ev };
    };
    const first = build({});
    const running = first.ev.run();
    await waitFor(() => statExists(marker), 10_000, 'the worker step to start');
    const stoppedAt = Date.now();
    first.ev.stop('operator asked');
    const result = await running;
    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(first.ev.tasks()[0]?.error).toMatchObject({ code: 'FLOW_STEP_STOPPED' });
    await waitFor(() => runnerStats().busyWorkers === 0, 1_000, 'the worker to be free again');
    expect(Date.now() - stoppedAt).toBeLessThan(1_000);
    first.ev.close();

    const second = build({ runMode: 'recover' });
    const recovered = await second.ev.run();
    expect(recovered).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(second.ev.tasks({ recovery: 1 })[0]).toMatchObject({
      status: 'success',
      result: 'done in recovery 1',
    });
  });

  it('terminates a worker that ignores the stop within the grace period; a recover then runs it', async () => {
    const { dir, store, cleanup } = tempDir();
    cleanups.push(cleanup);
    const ticks = join(dir, 'ticks');
    const build = (options: EventorOptions) => {
      const ev = new Eventor({ store, logLevel: 'silent', ...options });
      cleanups.push(() => ev.close());
      const go = ev.addEvent('go');
      ev.addAssoc(go, ev.addStep('busy', workerStep('busyUnlessRecovered', { args: [ticks] })));
      ev.triggerEvent(go);
      return { ev };
    };
    const first = build({});
    const running = first.ev.run();
    await waitFor(() => statExists(ticks), 10_000, 'the busy worker step to start');
    first.ev.stop('operator asked');
    expect(await running).toMatchObject({ ok: false, status: 'failure' });
    // the thread is blocked, so only terminate() ends it: the ticks must stop within the grace period
    await waitFor(() => runnerStats().busyWorkers === 0, 4_000, 'the blocked worker to be terminated');
    const size = statSync(ticks).size;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(statSync(ticks).size).toBe(size);
    first.ev.close();

    const second = build({ runMode: 'recover' });
    expect(await second.ev.run()).toMatchObject({ ok: true, status: 'success' });
    expect(second.ev.tasks({ recovery: 1 })[0]?.result).toBe('done in recovery 1');
  });
});

function statExists(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

describe('worker steps in a program started with node -e', () => {
  it('runs a worker step when the program came from --input-type=module -e: the thread does not inherit -e', () => {
    assertDistIsCurrent();
    const dir = tempDir();
    cleanups.push(dir.cleanup);
    const dist = pathToFileURL(join(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'index.js')).href;
    const program = `
      import { Eventor } from ${JSON.stringify(dist)};
      const ev = new Eventor({ name: 'eval', store: ${JSON.stringify(dir.store)}, logLevel: 'silent' });
      const go = ev.addEvent('go');
      ev.addAssoc(go, ev.addStep('add', { module: ${JSON.stringify(STEPS)}, export: 'add', args: [2, 3], config: { taskConstruct: 'worker' } }));
      ev.triggerEvent(go, 1);
      const result = await ev.run();
      console.log(JSON.stringify({ status: result.status, tasks: ev.tasks().map((t) => [t.status, t.result, t.error?.message ?? null]) }));
      ev.close();`;
    // with a process-wide flag too, which a thread refuses when it is handed on explicitly
    for (const flags of [[], ['--max-old-space-size=600']]) {
      const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', program], {
        encoding: 'utf8',
      });
      expect(JSON.parse(out), flags.join(' ')).toEqual({ status: 'success', tasks: [['success', 5, null]] });
    }
  });
});
