// Flows shared by the parent tests (which pass the src module) and child.mjs (which passes the built
// dist), so both sides of a crash or lease test build exactly the same flow on the same store file.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * start -> [s1, side]; once both succeeded -> s2; s2 success -> s3. Every call appends
 * `<step>/<sequence>` to `<dir>/executions.log`. With `onHang`, s2 calls it and then never ends.
 * s2 waits for both, so when it starts, the successes of s1 and side are committed (a step whose
 * result is not yet committed counts as running, and a crash may lose it).
 */
export function buildCrashFlow(lib, { store, dir, runMode = 'restart', sequences = ['1'], onHang }) {
  const ev = new lib.Eventor({ name: 'crash', store, runMode, logLevel: 'silent' });
  const executed = (name) =>
    appendFileSync(join(dir, 'executions.log'), `${name}/${lib.currentStep().sequence}\n`);
  const start = ev.addEvent('start');
  const s1Done = ev.addEvent('s1_done');
  const sideDone = ev.addEvent('side_done');
  const toS2 = ev.addEvent('to_s2', { expr: [s1Done, sideDone] });
  const toS3 = ev.addEvent('to_s3');
  const s1 = ev.addStep('s1', {
    func: () => {
      executed('s1');
      return 1;
    },
    triggers: { success: s1Done },
  });
  const side = ev.addStep('side', {
    func: async () => {
      executed('side');
      return 'side';
    },
    triggers: { success: sideDone },
  });
  const s2 = ev.addStep('s2', {
    func: async () => {
      executed('s2');
      if (onHang) {
        onHang(lib.currentStep().sequence);
        await new Promise(() => setInterval(() => {}, 60_000));
      }
      return 2;
    },
    triggers: { success: toS3 },
  });
  const s3 = ev.addStep('s3', {
    func: () => {
      executed('s3');
      return 3;
    },
  });
  ev.addAssoc(start, [s1, side]);
  ev.addAssoc(toS2, s2);
  ev.addAssoc(toS3, s3);
  for (const sequence of sequences) ev.triggerEvent(start, sequence);
  return ev;
}

/** go -> hold: one step that awaits `hold()` (when given) before it succeeds. */
export function buildHoldFlow(
  lib,
  { store, runId, runMode = 'restart', hold, handleSignals = false, leaseTtl },
) {
  const ev = new lib.Eventor({
    name: 'hold',
    store,
    handleSignals,
    runMode,
    logLevel: 'silent',
    ...(runId ? { runId } : {}),
    ...(leaseTtl ? { leaseTtl } : {}),
  });
  const go = ev.addEvent('go');
  ev.addAssoc(
    go,
    ev.addStep('hold', {
      func: async () => {
        if (hold) await hold();
        return 'held';
      },
    }),
  );
  ev.triggerEvent(go, 1);
  return ev;
}

/** A chain of `length` async steps, each one's success firing the next one's event. */
export function buildChainFlow(lib, { store, runId, length }) {
  const ev = new lib.Eventor({ name: 'chain', store, runId, logLevel: 'silent' });
  const events = Array.from({ length }, (_, i) => ev.addEvent(`run_c${i + 1}`));
  for (let i = 0; i < length; i++) {
    const next = events[i + 1];
    ev.addAssoc(
      events[i],
      ev.addStep(`c${i + 1}`, {
        func: async () => i + 1,
        ...(next ? { triggers: { success: next } } : {}),
      }),
    );
  }
  ev.triggerEvent(events[0], 1);
  return ev;
}
