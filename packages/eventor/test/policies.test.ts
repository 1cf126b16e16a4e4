import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { currentStep, StepFailedError } from '../src/index.js';
import { assertDistIsCurrent } from './helpers/child.js';
import { deferred, sandbox, sleep, within } from './helpers/sandbox.js';

describe('retries', () => {
  it('runs a failing step again until its third attempt succeeds, counting the attempts', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const failed = ev.addEvent('failed');
    const succeeded = ev.addEvent('succeeded');
    const seen: number[] = [];
    ev.addAssoc(
      go,
      ev.addStep('flaky', {
        func: () => {
          const { attempt } = currentStep();
          seen.push(attempt);
          if (attempt < 3) throw new Error(`attempt ${attempt} fails`);
          return `ok on ${attempt}`;
        },
        triggers: { failure: [failed], success: [succeeded] },
        config: { retries: 4, backoff: '5ms' },
      }),
    );
    const onFailure: string[] = [];
    ev.addAssoc(failed, ev.addStep('on_failure', { func: () => onFailure.push('ran') }));
    ev.addAssoc(succeeded, ev.addStep('on_success'));
    ev.triggerEvent(go, 1);

    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(seen).toEqual([1, 2, 3]);
    const flaky = ev.tasks({ step: 'flaky' })[0];
    expect(flaky).toMatchObject({ status: 'success', attempts: 3, result: 'ok on 3' });
    expect(flaky?.error).toBeUndefined();
    // only the last attempt's status fires triggers
    expect(onFailure).toEqual([]);
    expect(ev.tasks({ step: 'on_success' })).toHaveLength(1);
    const warnings = box.logger.at('warn').map((record) => record.msg ?? '');
    expect(warnings.filter((msg) => msg.includes('retrying'))).toHaveLength(2);
    expect(warnings[0]).toContain('attempt 1 of 5');
  });

  it('fails the step with the last error once the retries are used up', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    let calls = 0;
    ev.addAssoc(
      go,
      ev.addStep('hopeless', {
        func: () => {
          calls += 1;
          throw new TypeError(`call ${calls}`);
        },
        config: { retries: 2 },
      }),
    );
    ev.triggerEvent(go, 1);

    const result = await ev.run();

    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(calls).toBe(3);
    const task = ev.tasks()[0];
    expect(task).toMatchObject({ status: 'failure', attempts: 3 });
    expect(task?.error?.message).toBe('Step "hopeless" failed in sequence "1": TypeError: call 3');
  });

  it('waits the backoff before each retry, doubling it each time', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const times: number[] = [];
    ev.addAssoc(
      go,
      ev.addStep('slow_to_recover', {
        func: () => {
          times.push(Date.now());
          if (times.length < 4) throw new Error('not yet');
        },
        config: { retries: 3, backoff: '40ms' },
      }),
    );
    ev.triggerEvent(go, 1);

    await ev.run();

    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((time, i) => time - (times[i] as number));
    // timers may fire a millisecond early; the doubling is what matters
    expect(gaps[0]).toBeGreaterThanOrEqual(38);
    expect(gaps[1]).toBeGreaterThanOrEqual(78);
    expect(gaps[2]).toBeGreaterThanOrEqual(158);
  });

  it('goes on counting attempts in a recover run after the process died during a backoff', async () => {
    assertDistIsCurrent();
    const box = sandbox('retry-crash');
    const dist = new URL('../dist/index.js', import.meta.url).href;
    const script = fileURLToPath(new URL('./fixtures-policies/retry-child.mjs', import.meta.url));
    const child = fork(script, [dist, box.store, box.dir], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await within(
      new Promise<void>((resolve) => child.on('message', () => resolve())),
      10_000,
      `the child made no attempt; its stderr: ${stderr}`,
    );
    await sleep(100); // the failed attempt is committed before the backoff starts
    child.kill('SIGKILL');
    await exited;

    const ev = box.eventor({ name: 'retry-crash', runMode: 'recover' });
    const go = ev.addEvent('go');
    const attempts: number[] = [];
    ev.addAssoc(
      go,
      ev.addStep('flaky', {
        func: () => {
          attempts.push(currentStep().attempt);
          return 'recovered';
        },
        config: { retries: 3, backoff: '1h' },
      }),
    );
    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, recovery: 1 });
    expect(readFileSync(box.path('attempts.log'), 'utf8').trim().split('\n')).toEqual(['1']);
    expect(attempts).toEqual([2]);
    expect(ev.tasks({ recovery: 1 })[0]).toMatchObject({
      status: 'success',
      attempts: 2,
      result: 'recovered',
    });
    expect(ev.tasks({ recovery: 0 })[0]).toMatchObject({ status: 'ready', attempts: 1 });
  });
});

describe('timeout', () => {
  it('aborts the signal of a step that runs too long and fails it with a timeout error', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    let aborted: unknown;
    ev.addAssoc(
      go,
      ev.addStep('stuck', {
        func: () =>
          new Promise((resolve) => {
            const { signal } = currentStep();
            const timer = setTimeout(resolve, 10_000);
            signal.addEventListener('abort', () => {
              aborted = signal.reason;
              clearTimeout(timer);
            });
          }),
        config: { timeout: '60ms' },
      }),
    );
    ev.triggerEvent(go, 'nightly');
    const started = Date.now();

    const result = await ev.run();

    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(aborted).toBeInstanceOf(StepFailedError);
    const task = ev.tasks()[0];
    expect(task?.status).toBe('failure');
    expect(task?.error).toMatchObject({ code: 'FLOW_STEP_TIMEOUT' });
    expect(task?.error?.message).toBe('Step "stuck" failed in sequence "nightly": timed out after 60ms');
  });

  it('ignores the late result of an attempt that timed out, and retries it', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const late = deferred<string>();
    ev.addAssoc(
      go,
      ev.addStep('sometimes_slow', {
        func: () => (currentStep().attempt === 1 ? late.promise : 'fast second attempt'),
        config: { timeout: '50ms', retries: 1 },
      }),
    );
    ev.triggerEvent(go, 1);
    const run = ev.run();
    await sleep(120);
    late.resolve('too late');

    const result = await run;

    expect(result.ok).toBe(true);
    expect(ev.tasks()[0]).toMatchObject({ status: 'success', attempts: 2, result: 'fast second attempt' });
  });
});

describe('stop', () => {
  it('aborts running steps, records them failed with the reason, and leaves the run recoverable', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const started = deferred();
    let sawAbort = false;
    ev.addAssoc(go, [
      ev.addStep('quick', { func: () => 'quick' }),
      ev.addStep('long', {
        func: () =>
          new Promise(() => {
            currentStep().signal.addEventListener('abort', () => {
              sawAbort = true;
            });
            started.resolve();
          }),
      }),
    ]);
    ev.triggerEvent(go, 1);
    const run = ev.run();
    await started.promise;
    ev.stop('deploy window closed');

    const result = await within(run, 2000, 'run() should end soon after stop()');

    expect(result).toMatchObject({ ok: false, status: 'failure' });
    expect(sawAbort).toBe(true);
    const long = ev.tasks({ step: 'long' })[0];
    expect(long?.status).toBe('failure');
    expect(long?.error).toMatchObject({ code: 'FLOW_STEP_STOPPED' });
    expect(long?.error?.message).toContain('stopped: deploy window closed');
    ev.close();

    const again = box.eventor({ runMode: 'recover' });
    const goAgain = again.addEvent('go');
    const ran: string[] = [];
    again.addAssoc(goAgain, [
      again.addStep('quick', { func: () => ran.push('quick') }),
      again.addStep('long', { func: () => ran.push('long') }),
    ]);
    again.triggerEvent(goAgain, 1);
    const recovered = await again.run();

    expect(recovered).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(ran).toEqual(['long']);
  });
});
