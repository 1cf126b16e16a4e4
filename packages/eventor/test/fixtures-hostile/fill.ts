// A flow whose results fill a small disk: `steps` steps per sequence, each returning `resultBytes`
// characters. Shared by the full-disk tests and fill-child.ts, so both build exactly the same flow.
import { Eventor, type EventRef, type RunMode } from '../../src/index.js';

export interface FillFlow {
  ev: Eventor;
  go: EventRef;
  /** How often each `<step>/<sequence>` was called in this process. */
  calls: Map<string, number>;
}

export function buildFillFlow(options: {
  store: string;
  runMode?: RunMode;
  steps?: number;
  resultBytes?: number;
}): FillFlow {
  const { store, runMode = 'restart', steps = 10, resultBytes = 40_000 } = options;
  const ev = new Eventor({ name: 'fill', store, runMode, logLevel: 'silent' });
  const calls = new Map<string, number>();
  const go = ev.addEvent('go');
  const targets = [];
  for (let i = 0; i < steps; i++) {
    targets.push(
      ev.addStep(`fill${i}`, {
        func: (index: number) => {
          const key = `fill${index}`;
          calls.set(key, (calls.get(key) ?? 0) + 1);
          return `${index}:`.padEnd(resultBytes, 'x');
        },
        args: [i],
      }),
    );
  }
  ev.addAssoc(go, targets);
  return { ev, go, calls };
}
