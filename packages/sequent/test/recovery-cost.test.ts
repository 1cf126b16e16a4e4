import { describe, expect, it } from 'vitest';
import { RunMode } from '../src/index.js';
import { type Sandbox, sandbox } from './helpers/sandbox.js';

/** A container of `iterations` iterations of one no-op leaf. */
function loopFlow(box: Sandbox, iterations: number, runMode: RunMode) {
  const flow = box.flow({ runMode });
  const loop = flow.addStep('loop', { repeats: Array.from({ length: iterations }, (_, i) => i) });
  loop.addStep('leaf', { func: () => undefined });
  return flow;
}

describe('the cost of a recovery', () => {
  // a skipped task looks up what its body fired; that searched all of the recovery's triggers, so
  // recovering a long container cost n^2 (10,000 iterations: 1.9 s to run, 19.7 s to recover)
  it('recovers a 3,000-iteration flow that succeeded in about the time its first run took', async () => {
    const box = sandbox();
    const iterations = 3_000;
    const first = loopFlow(box, iterations, RunMode.restart);
    let start = performance.now();
    expect((await first.run()).ok).toBe(true);
    const firstMs = performance.now() - start;
    first.close();

    const again = loopFlow(box, iterations, RunMode.recover);
    start = performance.now();
    expect(await again.run()).toMatchObject({ ok: true, recovery: 1 });
    const recoverMs = performance.now() - start;

    expect(again.tasks({ recovery: 1 }).filter((task) => task.skipped)).toHaveLength(iterations);
    expect(recoverMs, `first run ${firstMs.toFixed(0)} ms, recover ${recoverMs.toFixed(0)} ms`).toBeLessThan(
      firstMs * 2.5,
    );
  }, 60_000);
});
