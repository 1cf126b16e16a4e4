import { describe, expect, it } from 'vitest';
import { currentStep, FlowError, type StepContext } from '../src/index.js';
import { sandbox, sleep } from './helpers/sandbox.js';

function snapshot(context: StepContext) {
  return {
    name: context.name,
    sequence: context.sequence,
    recovery: context.recovery,
    runId: context.runId,
    attempt: context.attempt,
  };
}

describe('currentStep', () => {
  it('tells a synchronous step who it is', async () => {
    const box = sandbox();
    const ev = box.eventor();
    let seen: ReturnType<typeof snapshot> | undefined;
    let signal: AbortSignal | undefined;
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('sync_step', {
        func: () => {
          seen = snapshot(currentStep());
          signal = currentStep().signal;
        },
      }),
    );
    ev.triggerEvent(go, 42);
    const result = await ev.run();

    expect(seen).toEqual({ name: 'sync_step', sequence: '42', recovery: 0, runId: result.runId, attempt: 1 });
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal?.aborted).toBe(false);
  });

  it('tells an async step who it is after awaits and inside timers it started', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const seen: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('async_step', {
        func: async () => {
          await sleep(5);
          seen.push(`after await: ${currentStep().name}/${currentStep().sequence}`);
          await new Promise<void>((resolve) =>
            setTimeout(() => {
              seen.push(`in timer: ${currentStep().name}/${currentStep().sequence}`);
              resolve();
            }, 5),
          );
        },
      }),
    );
    ev.triggerEvent(go, 'b');
    await ev.run();

    expect(seen).toEqual(['after await: async_step/b', 'in timer: async_step/b']);
  });

  it('keeps interleaved async steps apart', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const seen: string[] = [];
    const go = ev.addEvent('go');
    const worker = (delay: number) => async () => {
      const before = currentStep();
      await sleep(delay);
      const after = currentStep();
      seen.push(`${before.name}/${before.sequence}=${after.name}/${after.sequence}`);
    };
    ev.addAssoc(go, [ev.addStep('slow', { func: worker(30) }), ev.addStep('fast', { func: worker(5) })]);
    for (const sequence of ['1', '2', '3']) ev.triggerEvent(go, sequence);
    await ev.run();

    expect(seen).toHaveLength(6);
    for (const line of seen) {
      const [before, after] = line.split('=');
      expect(after).toBe(before);
    }
  });

  it('reports the recovery number in a recover run', async () => {
    const box = sandbox();
    const build = (runMode: 'restart' | 'recover', fail: boolean, seen: number[]) => {
      const ev = box.eventor({ runMode });
      const go = ev.addEvent('go');
      ev.addAssoc(
        go,
        ev.addStep('s', {
          func: () => {
            seen.push(currentStep().recovery);
            if (fail) throw new Error('first time');
          },
        }),
      );
      ev.triggerEvent(go, 1);
      return ev;
    };
    const seen: number[] = [];
    const first = build('restart', true, seen);
    await first.run();
    first.close();
    const second = build('recover', false, seen);
    const result = await second.run();

    expect(seen).toEqual([0, 1]);
    expect(result.recovery).toBe(1);
  });

  it('throws a FlowError outside a running step, saying where to call it', async () => {
    let error: unknown;
    try {
      currentStep();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(FlowError);
    expect((error as FlowError).code).toBe('FLOW_NO_CURRENT_STEP');
    expect((error as Error).message).toMatch(/outside a running step/);
  });

  it('throws outside a step even while a run is going, and after it ended', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s', { func: () => sleep(20) }));
    ev.triggerEvent(go, 1);

    const running = ev.run();
    expect(() => currentStep()).toThrow(FlowError);
    await running;
    expect(() => currentStep()).toThrow(/outside a running step/);
  });
});
