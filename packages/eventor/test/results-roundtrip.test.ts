import { describe, expect, it } from 'vitest';
import type { Eventor } from '../src/index.js';
import {
  CONSTRUCTS,
  eventor,
  expectRoundTrip,
  KINDS,
  resultsFlow,
  resultsOf,
} from './fixtures/results-flow.js';
import { sandbox } from './helpers/sandbox.js';

describe('a step result', () => {
  it.each(CONSTRUCTS)(
    'reads back as it was returned, for every value structured clone can copy (%s steps)',
    async (construct) => {
      const box = sandbox('results');
      const ev = eventor(box);
      ev.triggerEvent(resultsFlow(ev, construct, KINDS));
      expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });

      expectRoundTrip(resultsOf(ev));
      ev.close();
      // and from the file, in another Eventor
      const reader = eventor(box, { runMode: 'continue' });
      expectRoundTrip(resultsOf(reader));
    },
  );

  it.each(CONSTRUCTS)(
    'fails the step with FLOW_RESULT_NOT_SERIALIZABLE naming the step and the type (%s steps)',
    async (construct) => {
      const box = sandbox('results');
      const ev = eventor(box);
      ev.triggerEvent(resultsFlow(ev, construct, ['function', 'symbol']));
      expect(await ev.run()).toMatchObject({ ok: false, status: 'failure' });

      const [fn, symbol] = ev.tasks();
      expect(fn).toMatchObject({ step: 'function', status: 'failure' });
      expect(fn?.error?.code).toBe('FLOW_RESULT_NOT_SERIALIZABLE');
      expect(fn?.error?.message).toMatch(
        /^Step "function" failed in sequence "0": its result cannot be stored: it holds a function \(format\) \(at \.rows\[2\]\.format\)/,
      );
      expect(symbol?.error?.code).toBe('FLOW_RESULT_NOT_SERIALIZABLE');
      expect(symbol?.error?.message).toMatch(/"symbol".*it holds a symbol \(Symbol\(secret\)\) \(at \.tag\)/);
    },
  );

  it('gives the same failure message whatever construct ran the step', async () => {
    const messages = new Set<string>();
    for (const construct of CONSTRUCTS) {
      const box = sandbox('results');
      const ev = eventor(box);
      ev.triggerEvent(resultsFlow(ev, construct, ['function']));
      await ev.run();
      messages.add(ev.tasks()[0]?.error?.message ?? '');
    }
    expect([...messages]).toHaveLength(1);
  });

  it.each(CONSTRUCTS)(
    'is handed unchanged by a recovery that skips the step, to tasks() and to a later step (%s steps)',
    async (construct) => {
      const box = sandbox('results');
      const seen: Record<string, unknown> = {};
      const build = (options: ConstructorParameters<typeof Eventor>[0]) => {
        const ev = eventor(box, options);
        const go = resultsFlow(ev, construct, KINDS, true);
        const made = ev.addEvent('made', { expr: KINDS.map((kind) => ev.addEvent(`${kind}_done`)) });
        const check = ev.addStep('check', {
          func: () => {
            if (ev.recovery === 0) throw new Error('not yet');
            Object.assign(seen, resultsOf(ev, ev.recovery));
            return 'checked';
          },
        });
        ev.addAssoc(made, check);
        return { ev, go };
      };
      const first = build({});
      first.ev.triggerEvent(first.go);
      expect((await first.ev.run()).ok).toBe(false);
      first.ev.close();

      const again = build({ runMode: 'recover' });
      again.ev.triggerEvent(again.go);
      expect(await again.ev.run()).toMatchObject({ ok: true, recovery: 1 });
      const skipped = again.ev.tasks({ recovery: 1 }).filter((task) => task.skipped);
      expect(skipped.map((task) => task.step).sort()).toEqual([...KINDS].sort());
      expectRoundTrip(resultsOf(again.ev, 1));
      expectRoundTrip(seen);
    },
  );
});
