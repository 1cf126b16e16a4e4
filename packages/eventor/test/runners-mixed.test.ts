import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Eventor, type EventorOptions, StepStatus } from '../src/index.js';
import { disposeRunners, runnerStats } from '../src/runtime/runners/index.js';
import { fixture, pidAlive, STEPS, tempDir, waitFor } from './fixtures/harness.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const NODE = process.execPath;

/** The most intervals open at once, from "start <ms> <label>" / "end <ms> <label>" lines. */
function maxOverlap(log: string): number {
  const events = log
    .trim()
    .split('\n')
    .map((line) => {
      const [kind, at] = line.split(' ');
      return { at: Number(at), delta: kind === 'start' ? 1 : -1 };
    })
    // at the same millisecond count starts first: the estimate can only err high, never hide overlap
    .sort((a, b) => a.at - b.at || b.delta - a.delta);
  let open = 0;
  let max = 0;
  for (const event of events) {
    open += event.delta;
    max = Math.max(max, open);
  }
  return max;
}

describe('mixed flows', () => {
  it('runs inline, worker, process and command steps in one run under one concurrency cap', async () => {
    const { dir, store, cleanup } = tempDir();
    cleanups.push(cleanup);
    const log = join(dir, 'intervals.log');
    const ev = new Eventor({ store, logLevel: 'silent', config: { maxConcurrent: 2 } });
    cleanups.push(() => ev.close());
    const go = ev.addEvent('go');
    const inlineDone = ev.addEvent('inline_done');
    const ms = 150;
    const interval = (label: string) => [log, label, ms];
    ev.addAssoc(go, [
      ev.addStep('inline', {
        func: async () => {
          appendFileSync(log, `start ${Date.now()} inline\n`);
          await new Promise((resolve) => setTimeout(resolve, ms));
          appendFileSync(log, `end ${Date.now()} inline\n`);
          return 'inline';
        },
        triggers: { [StepStatus.success]: inlineDone },
      }),
      ev.addStep('worker', {
        module: STEPS,
        export: 'interval',
        args: interval('worker'),
        config: { taskConstruct: 'worker' },
      }),
      ev.addStep('process', {
        module: STEPS,
        export: 'interval',
        args: interval('process'),
        config: { taskConstruct: 'process' },
      }),
      ev.addStep('command', { command: [NODE, fixture('interval.mjs'), ...interval('command').map(String)] }),
    ]);
    // a second wave, chained on the inline step's success
    ev.addAssoc(inlineDone, [
      ev.addStep('worker2', {
        module: STEPS,
        export: 'interval',
        args: interval('worker2'),
        config: { taskConstruct: 'worker' },
      }),
      ev.addStep('command2', {
        command: [NODE, fixture('interval.mjs'), ...interval('command2').map(String)],
      }),
    ]);
    for (const sequence of [1, 2]) ev.triggerEvent(go, sequence);

    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
    const tasks = ev.tasks();
    expect(tasks).toHaveLength(12);
    expect(tasks.every((task) => task.status === 'success')).toBe(true);
    expect(ev.tasks({ step: 'worker2' }).map((task) => task.result)).toEqual(['worker2', 'worker2']);
    expect(ev.tasks({ step: 'command' })[0]?.result).toMatchObject({ exitCode: 0, stdoutTail: ['command'] });
    const intervals = readFileSync(log, 'utf8');
    expect(intervals.trim().split('\n')).toHaveLength(24);
    expect(maxOverlap(intervals)).toBeLessThanOrEqual(2);
  });

  it('stops worker, process and command steps from another step; a recover runs them all', async () => {
    const { dir, store, cleanup } = tempDir();
    cleanups.push(cleanup);
    const workerTicks = join(dir, 'worker.ticks');
    const processPid = join(dir, 'process.pid');
    const commandPid = join(dir, 'command.pid');
    const build = (options: EventorOptions) => {
      const ev = new Eventor({ store, logLevel: 'silent', ...options });
      cleanups.push(() => ev.close());
      const go = ev.addEvent('go');
      ev.addAssoc(go, [
        ev.addStep('worker', {
          module: STEPS,
          export: 'busyUnlessRecovered',
          args: [workerTicks],
          config: { taskConstruct: 'worker' },
        }),
        ev.addStep('process', {
          module: STEPS,
          export: 'longUnlessRecovered',
          args: [processPid],
          config: { taskConstruct: 'process' },
        }),
        ev.addStep('command', { command: [NODE, fixture('sleepy.mjs'), commandPid] }),
        ev.addStep('stopper', {
          func: async () => {
            if (ev.recovery > 0) return 'nothing to stop';
            await waitFor(
              () => [workerTicks, processPid, commandPid].every(nonEmpty),
              10_000,
              'the three steps to start',
            );
            ev.stop('stopped by the stopper step');
            return 'stopped';
          },
        }),
      ]);
      ev.triggerEvent(go);
      return ev;
    };

    const first = build({});
    const result = await first.run();
    expect(result).toMatchObject({ ok: false, status: 'failure' });
    const byStep = Object.fromEntries(first.tasks().map((task) => [task.step, task]));
    for (const step of ['worker', 'process', 'command']) {
      expect(byStep[step]?.status).toBe('failure');
      expect(byStep[step]?.error?.message).toContain('stopped: stopped by the stopper step');
    }
    // disposeRunners returns once every child and worker told to end has gone, and the idle pool with them
    const pids = [processPid, commandPid].map((file) => Number(readFileSync(file, 'utf8')));
    const disposing = Date.now();
    await disposeRunners();
    expect(Date.now() - disposing).toBeLessThan(4_000);
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(runnerStats()).toEqual({ workers: 0, busyWorkers: 0, waitingForWorker: 0, children: 0 });
    first.close();

    const second = build({ runMode: 'recover' });
    expect(await second.run()).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    const recovered = second.tasks({ recovery: 1 });
    expect(recovered.map((task) => [task.step, task.status]).sort()).toEqual([
      ['command', 'success'],
      ['process', 'success'],
      ['stopper', 'success'],
      ['worker', 'success'],
    ]);
  });
});

function nonEmpty(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}
