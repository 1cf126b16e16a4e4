import { describe, expect, it } from 'vitest';
import {
  type Eventor,
  type EventorOptions,
  FlowConfigError,
  StepReplay,
  StepStatus,
  StoreError,
} from '../src/index.js';
import { recoveryFlow } from './helpers/flows.js';
import { type Sandbox, sandbox, sleep } from './helpers/sandbox.js';

function seedFlow(box: Sandbox, options: Omit<Parameters<typeof recoveryFlow>[0], 'store'>) {
  const flow = recoveryFlow({ store: box.store, logger: box.logger, ...options });
  box.track(flow.ev);
  return flow;
}

/** go -> a -> b -> c in sequence 1; `fail` names steps that throw; counts calls per step across eventors. */
function abc(box: Sandbox, counts: Record<string, number>, fail: string[], options: EventorOptions = {}) {
  const ev = box.eventor(options);
  const go = ev.addEvent('go');
  const toB = ev.addEvent('to_b');
  const toC = ev.addEvent('to_c');
  const step = (name: string) => () => {
    counts[name] = (counts[name] ?? 0) + 1;
    if (fail.includes(name)) throw new Error(`${name} failed on purpose`);
    return name.toUpperCase();
  };
  ev.addAssoc(go, ev.addStep('a', { func: step('a'), triggers: { success: toB } }));
  ev.addAssoc(toB, ev.addStep('b', { func: step('b'), triggers: { success: toC } }));
  ev.addAssoc(toC, ev.addStep('c', { func: step('c') }));
  return { ev, go };
}

describe('runMode restart', () => {
  it('starts a new run with recovery 0 and keeps earlier runs in the store', async () => {
    const box = sandbox();
    const counts: Record<string, number> = {};
    const first = abc(box, counts, ['b'], { runId: 'first' });
    first.ev.triggerEvent(first.go, 1);
    expect(await first.ev.run()).toMatchObject({ runId: 'first', recovery: 0, status: 'failure' });
    first.ev.close();

    const second = abc(box, counts, []);
    second.ev.triggerEvent(second.go, 1);
    const result = await second.ev.run();
    second.ev.close();

    expect(result).toMatchObject({ recovery: 0, status: 'success' });
    expect(result.runId).not.toBe('first');

    const again = abc(box, counts, [], { runMode: 'recover', runId: 'first' });
    again.ev.triggerEvent(again.go, 1);
    const recovered = await again.ev.run();
    expect(recovered).toMatchObject({ runId: 'first', recovery: 1, status: 'success' });
    expect(again.ev.tasks({ recovery: 0 }).map((t) => `${t.step}:${t.status}`)).toEqual([
      'a:success',
      'b:failure',
    ]);
  });

  it('generates a different runId for each run when none is given', async () => {
    const box = sandbox();
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { ev, go } = abc(box, {}, []);
      ev.triggerEvent(go, 1);
      ids.add((await ev.run()).runId);
      ev.close();
    }
    expect(ids.size).toBe(3);
  });

  it('throws FlowConfigError when the given runId already exists', async () => {
    const box = sandbox();
    const first = abc(box, {}, [], { runId: 'nightly-1' });
    first.ev.triggerEvent(first.go, 1);
    await first.ev.run();
    first.ev.close();

    const second = abc(box, {}, [], { runId: 'nightly-1' });
    expect(() => second.ev.triggerEvent(second.go, 1)).toThrow(FlowConfigError);
    expect(() => second.ev.triggerEvent(second.go, 1)).toThrow(/"nightly-1"/);
  });
});

describe('runMode recover', () => {
  it('runs the seed example: s2 fails, the recovery skips s1 and runs s2 and s3', async () => {
    const box = sandbox();
    const failing = seedFlow(box, { param: -9 });
    const first = await failing.ev.run();
    failing.ev.close();

    expect(first).toMatchObject({ ok: false, status: 'failure', recovery: 0 });
    expect(failing.calls).toEqual(['s1', 's2']);

    const fixed = seedFlow(box, { param: 9, runMode: 'recover' });
    const second = await fixed.ev.run();

    expect(second).toMatchObject({ ok: true, status: 'success', recovery: 1, runId: first.runId });
    expect(fixed.calls).toEqual(['s2', 's3']);
    const latest = fixed.ev.tasks({ recovery: 1 });
    expect(latest.map((t) => [t.step, t.status, t.skipped])).toEqual([
      ['s1', 'success', true],
      ['s2', 'success', false],
      ['s3', 'success', false],
    ]);
    expect(latest.find((t) => t.step === 's1')?.result).toBe(9);
    expect(latest.find((t) => t.step === 's3')?.result).toBe(3);
    expect(fixed.ev.tasks().map((t) => `${t.step}/${t.recovery}`)).toEqual([
      's1/0',
      's2/0',
      's1/1',
      's2/1',
      's3/1',
    ]);
  });

  it('fires every event afresh: triggerEvent returns true again in the new recovery', async () => {
    const box = sandbox();
    const counts: Record<string, number> = {};
    const first = abc(box, counts, ['b']);
    expect(first.ev.triggerEvent(first.go, 1)).toBe(true);
    await first.ev.run();
    first.ev.close();

    const second = abc(box, counts, [], { runMode: 'recover' });
    expect(second.ev.triggerEvent(second.go, 1)).toBe(true);
    expect(second.ev.triggerEvent(second.go, 1)).toBe(false);
  });

  it('acts on the latest run when no runId is given', async () => {
    const box = sandbox();
    const counts: Record<string, number> = {};
    // ids sort the other way round from start times, so only the start time can pick the latest
    for (const runId of ['z-older', 'a-newer']) {
      const { ev, go } = abc(box, counts, ['c'], { runId });
      ev.triggerEvent(go, 1);
      await ev.run();
      ev.close();
      await sleep(5);
    }

    const { ev, go } = abc(box, counts, [], { runMode: 'recover' });
    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result).toMatchObject({ runId: 'a-newer', recovery: 1, status: 'success' });
  });

  it('throws StoreError when there is no run to recover', () => {
    const box = sandbox();
    const { ev, go } = abc(box, {}, [], { runMode: 'recover' });
    expect(() => ev.triggerEvent(go, 1)).toThrow(StoreError);
    expect(() => ev.triggerEvent(go, 1)).toThrow(/no run/);
  });

  it('throws StoreError naming the runId when that run is not in the store', async () => {
    const box = sandbox();
    const first = abc(box, {}, []);
    first.ev.triggerEvent(first.go, 1);
    await first.ev.run();
    first.ev.close();

    const { ev, go } = abc(box, {}, [], { runMode: 'recover', runId: 'missing-run' });
    expect(() => ev.triggerEvent(go, 1)).toThrow(StoreError);
    expect(() => ev.triggerEvent(go, 1)).toThrow(/missing-run/);
  });

  it('looks back past a recovery that never reached a step, to its latest earlier attempt', async () => {
    const box = sandbox();
    const counts: Record<string, number> = {};
    const first = abc(box, counts, ['b']);
    first.ev.triggerEvent(first.go, 1);
    await first.ev.run();
    first.ev.close();

    // recovery 1 is interrupted before it gets to any step
    const interrupted = abc(box, counts, ['b'], { runMode: 'recover' });
    interrupted.ev.triggerEvent(interrupted.go, 1);
    expect(interrupted.ev.recovery).toBe(1);
    interrupted.ev.close();

    const last = abc(box, counts, [], { runMode: 'recover' });
    last.ev.triggerEvent(last.go, 1);
    const result = await last.ev.run();

    expect(result).toMatchObject({ status: 'success', recovery: 2 });
    expect(counts).toEqual({ a: 1, b: 2, c: 1 });
    expect(last.ev.tasks({ recovery: 2 }).map((t) => [t.step, t.skipped])).toEqual([
      ['a', true],
      ['b', false],
      ['c', false],
    ]);
  });

  it('skips a step that succeeded two recoveries ago and failed-over steps after it', async () => {
    const box = sandbox();
    const counts: Record<string, number> = {};
    for (const fail of [['b'], ['c']]) {
      const { ev, go } = abc(box, counts, fail, { runMode: counts.a ? 'recover' : 'restart' });
      ev.triggerEvent(go, 1);
      expect((await ev.run()).status).toBe('failure');
      ev.close();
    }
    const { ev, go } = abc(box, counts, [], { runMode: 'recover' });
    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result).toMatchObject({ status: 'success', recovery: 2 });
    expect(counts).toEqual({ a: 1, b: 2, c: 2 });
  });

  it('reruns a step that had succeeded when its recovery policy says rerun for success', async () => {
    const box = sandbox();
    const failing = seedFlow(box, { param: -9 });
    await failing.ev.run();
    failing.ev.close();

    const fixed = seedFlow(box, {
      param: 9,
      runMode: 'recover',
      s1: { recovery: { [StepStatus.success]: StepReplay.rerun } },
    });
    const result = await fixed.ev.run();

    expect(result.status).toBe('success');
    expect(fixed.calls.sort()).toEqual(['s1', 's2', 's3']);
    expect(fixed.ev.tasks({ recovery: 1, step: 's1' })[0]?.skipped).toBe(false);
  });

  it('skips a failed step whose recovery policy says skip for failure; the skipped task counts as success', async () => {
    const box = sandbox();
    const failing = seedFlow(box, { param: -9 });
    await failing.ev.run();
    failing.ev.close();

    const recovered = seedFlow(box, {
      param: -9,
      runMode: 'recover',
      s2: { recovery: { [StepStatus.failure]: StepReplay.skip } },
    });
    const result = await recovered.ev.run();

    expect(recovered.calls).toEqual(['s3']);
    const s2 = recovered.ev.tasks({ recovery: 1, step: 's2' })[0];
    expect(s2).toMatchObject({ skipped: true, status: 'success' });
    expect(result).toMatchObject({ ok: true, status: 'success' });
  });

  it("applies the 'complete' shorthand of a recovery policy to both success and failure", async () => {
    const box = sandbox();
    const failing = seedFlow(box, { param: -9 });
    await failing.ev.run();
    failing.ev.close();

    const recovered = seedFlow(box, {
      param: -9,
      runMode: 'recover',
      s1: { recovery: { [StepStatus.complete]: StepReplay.rerun } },
      s2: { recovery: { [StepStatus.complete]: StepReplay.skip } },
    });
    await recovered.ev.run();

    // s1 succeeded before and reruns (complete: rerun); s2 failed before and is skipped (complete: skip)
    expect(recovered.calls[0]).toBe('s1');
    expect(recovered.calls).not.toContain('s2');
    expect(recovered.ev.tasks({ recovery: 1, step: 's2' })[0]?.skipped).toBe(true);
  });

  it('reruns a task that was still waiting (ready) when a failure stopped the earlier run', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const build = (runMode: 'restart' | 'recover', broken: boolean) => {
      const ev = box.eventor({ runMode, config: { maxConcurrent: 1 } });
      const go = ev.addEvent('go');
      ev.addAssoc(go, [
        ev.addStep('bad', {
          func: () => {
            calls.push('bad');
            if (broken) throw new Error('broken');
          },
        }),
        ev.addStep('waiting', { func: () => calls.push('waiting') }),
      ]);
      ev.triggerEvent(go, 1);
      return ev;
    };
    const first = build('restart', true);
    expect((await first.run()).status).toBe('failure');
    expect(first.tasks({ step: 'waiting' })[0]?.status).toBe('ready');
    first.close();

    const second = build('recover', false);
    const result = await second.run();

    expect(result.status).toBe('success');
    expect(calls).toEqual(['bad', 'bad', 'waiting']);
    expect(second.tasks({ recovery: 1 }).map((t) => [t.step, t.skipped])).toEqual([
      ['bad', false],
      ['waiting', false],
    ]);
  });

  it('runs nothing and is ok when recovering a run whose last recovery fully succeeded', async () => {
    const box = sandbox();
    const failing = seedFlow(box, { param: -9 });
    await failing.ev.run();
    failing.ev.close();
    const fixed = seedFlow(box, { param: 9, runMode: 'recover' });
    expect((await fixed.ev.run()).status).toBe('success');
    fixed.ev.close();

    const again = seedFlow(box, { param: 9, runMode: 'recover' });
    const result = await again.ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 2 });
    expect(again.calls).toEqual([]);
    expect(again.ev.tasks({ recovery: 2 }).every((t) => t.skipped && t.status === 'success')).toBe(true);
    expect(again.ev.tasks({ recovery: 2 })).toHaveLength(3);
  });

  it('reruns a step that was stopped, after stop() ended the earlier run', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const build = (options: EventorOptions, hang: boolean) => {
      const ev = box.eventor(options);
      const go = ev.addEvent('go');
      const next = ev.addEvent('next');
      ev.addAssoc(go, ev.addStep('first', { func: () => calls.push('first'), triggers: { success: next } }));
      ev.addAssoc(
        next,
        ev.addStep('second', {
          func: () => {
            calls.push('second');
            if (hang) return new Promise(() => {});
            return 'ok';
          },
        }),
      );
      ev.triggerEvent(go, 1);
      return ev;
    };
    const first = build({}, true);
    const running = first.run();
    while (!calls.includes('second')) await sleep(5);
    first.stop('operator');
    expect((await running).status).toBe('failure');
    first.close();

    const second = build({ runMode: 'recover' }, false);
    const result = await second.run();

    expect(result.status).toBe('success');
    expect(calls).toEqual(['first', 'second', 'second']);
  });
});

describe('two Eventor objects on one file', () => {
  it('restarts, then recovers, then continues the same run from separate objects', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const build = (runMode: 'restart' | 'recover' | 'continue', param: number): Eventor => {
      const ev = box.eventor({ runMode });
      const go = ev.addEvent('go');
      const toB = ev.addEvent('to_b');
      const toC = ev.addEvent('to_c');
      ev.addAssoc(
        go,
        ev.addStep('a', {
          func: () => calls.push(`a:${runMode}`),
          triggers: { success: toB },
        }),
      );
      ev.addAssoc(
        toB,
        ev.addStep('b', {
          func: (x: number) => {
            calls.push(`b:${runMode}`);
            if (x < 0) throw new Error('negative');
            return x;
          },
          args: [param],
          triggers: { success: toC },
        }),
      );
      ev.addAssoc(toC, ev.addStep('c', { func: () => calls.push(`c:${runMode}`) }), { delay: 60 });
      ev.triggerEvent(go, 1);
      return ev;
    };

    const restart = build('restart', -1);
    const r0 = await restart.run();
    restart.close();
    expect(r0).toMatchObject({ status: 'failure', recovery: 0 });

    const recover = build('recover', 1);
    const r1 = await recover.run({ maxLoops: 1 });
    recover.close();
    expect(r1).toMatchObject({ status: 'incomplete', recovery: 1, runId: r0.runId });

    await sleep(80);
    const cont = build('continue', 1);
    const r2 = await cont.run();

    expect(r2).toMatchObject({ status: 'success', recovery: 1, runId: r0.runId });
    expect(calls).toEqual(['a:restart', 'b:restart', 'b:recover', 'c:continue']);
    expect(
      cont.tasks().map((t) => `${t.step}/${t.recovery}/${t.status}${t.skipped ? '/skipped' : ''}`),
    ).toEqual(['a/0/success', 'b/0/failure', 'a/1/success/skipped', 'b/1/success', 'c/1/success']);
  });
});
