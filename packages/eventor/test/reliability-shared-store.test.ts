import { describe, expect, it } from 'vitest';
import { type Eventor, StoreError } from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

/** One step that fails while `failing.value` is true; its flow is named `name`. */
function oneStepFlow(ev: Eventor, failing: { value: boolean }) {
  const go = ev.addEvent('go');
  ev.addAssoc(
    go,
    ev.addStep('work', {
      func: () => {
        if (failing.value) throw new Error(`${ev.name} is not ready`);
        return ev.name;
      },
    }),
  );
  return go;
}

describe('a store shared by several flows', () => {
  it.each(['recover', 'continue'] as const)(
    '%s without a runId takes the latest run of its own flow, not the run another flow started later',
    async (runMode) => {
      const box = sandbox('shared');
      const failing = { value: true };
      const alpha = box.eventor({ name: 'alpha' });
      alpha.triggerEvent(oneStepFlow(alpha, failing));
      // recover: a run that failed; continue: a run that stopped before its first pass
      const alphaRunId = runMode === 'recover' ? (await alpha.run()).runId : alpha.runId;
      alpha.close();
      const beta = box.eventor({ name: 'beta' });
      beta.triggerEvent(oneStepFlow(beta, { value: false }));
      const betaRun = await beta.run();
      beta.close();
      expect(betaRun.runId).not.toBe(alphaRunId);

      failing.value = false;
      const again = box.eventor({ name: 'alpha', runMode });
      again.triggerEvent(oneStepFlow(again, failing));
      const result = await again.run();

      expect(result).toMatchObject({ ok: true, status: 'success', runId: alphaRunId });
      expect(again.tasks().map((task) => [task.step, task.status, task.result ?? null])).toEqual(
        runMode === 'recover'
          ? [
              ['work', 'failure', null],
              ['work', 'success', 'alpha'],
            ]
          : [['work', 'success', 'alpha']],
      );
    },
  );

  it('refuses to recover or continue a flow the store has no run of, naming the flows it has', async () => {
    const box = sandbox('shared');
    for (const name of ['alpha', 'beta']) {
      const ev = box.eventor({ name });
      ev.triggerEvent(oneStepFlow(ev, { value: false }));
      await ev.run();
      ev.close();
    }
    for (const runMode of ['recover', 'continue'] as const) {
      const gamma = box.eventor({ name: 'gamma', runMode });
      oneStepFlow(gamma, { value: false });
      const error = await gamma.run().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).message).toMatch(/no run of flow "gamma"/);
      expect((error as StoreError).message).toMatch(/flows "alpha", "beta"/);
    }
  });
});
