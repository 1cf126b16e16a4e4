// Durations past setTimeout's limit (2^31-1 ms, about 24.8 days): Node fires such a timer after 1 ms
// and warns. Every timer the engine arms must wait as long as it was told, whatever the length.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sandbox, sleep } from './helpers/sandbox.js';

const DAY_MS = 86_400_000;

let overflowWarnings = 0;
const onWarning = (warning: Error) => {
  if (warning.name === 'TimeoutOverflowWarning') overflowWarnings += 1;
};
beforeEach(() => {
  overflowWarnings = 0;
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

describe('durations longer than 24.8 days', () => {
  it("a timeout of '30d' does not fire while the step works for 300 ms", async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('slow', {
        func: async () => {
          await sleep(300);
          return 'done';
        },
        config: { timeout: '30d' },
      }),
    );
    ev.triggerEvent(go);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(ev.tasks()[0]).toMatchObject({ status: 'success', attempts: 1, result: 'done' });
    expect(overflowWarnings).toBe(0);
  });

  it("a backoff of '30d' waits instead of retrying at once", async () => {
    const box = sandbox();
    const ev = box.eventor();
    let calls = 0;
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('flaky', {
        func: () => {
          calls += 1;
          throw new Error('not yet');
        },
        config: { retries: 2, backoff: '30d' },
      }),
    );
    ev.triggerEvent(go);
    const running = ev.run();
    await sleep(300);
    expect(calls).toBe(1);
    expect(ev.tasks()[0]).toMatchObject({ status: 'ready', attempts: 1 });
    ev.stop('test over');
    const result = await running;

    expect(result.status).toBe('failure');
    expect(calls).toBe(1);
    expect(overflowWarnings).toBe(0);
  });

  it("a delay of '30d' stays pending, and the loop sleeps through it instead of waking every 1 ms", async () => {
    const box = sandbox();
    const ev = box.eventor();
    let laterCalls = 0;
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('later', {
        func: () => {
          laterCalls += 1;
        },
      }),
      { delay: '30d' },
    );
    ev.triggerEvent(go);

    const first = await ev.run({ maxLoops: 1 });
    expect(first.status).toBe('incomplete');
    const pending = ev.pending();
    expect(pending.count).toBe(1);
    expect(pending.nextDelayIn).toBeGreaterThan(30 * DAY_MS - 60_000);
    expect(pending.nextDelayIn).toBeLessThanOrEqual(30 * DAY_MS);

    // a run left to sleep on the delay: before the fix, it woke every 1 ms with a warning each time
    const cpuBefore = process.cpuUsage();
    const running = ev.run();
    let settled = false;
    void running.then(() => {
      settled = true;
    });
    await sleep(300);
    const cpu = process.cpuUsage(cpuBefore);
    expect(settled).toBe(false);
    expect(overflowWarnings).toBe(0);
    expect((cpu.user + cpu.system) / 1000).toBeLessThan(100);
    ev.stop('test over');
    await running;

    expect(laterCalls).toBe(0);
    expect(ev.pending().nextDelayIn).toBeGreaterThan(30 * DAY_MS - 60_000);
  });
});
