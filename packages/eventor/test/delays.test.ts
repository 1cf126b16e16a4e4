import { describe, expect, it } from 'vitest';
import { currentStep, type Duration, type EventorOptions } from '../src/index.js';
import { type Sandbox, sandbox, sleep } from './helpers/sandbox.js';

/** go -> first; first's success -> (after `delay`) second. Records wall times of calls. */
function delayedPair(
  box: Sandbox,
  marks: Map<string, number[]>,
  delay: Duration,
  options: EventorOptions = {},
) {
  const ev = box.eventor(options);
  const go = ev.addEvent('go');
  const next = ev.addEvent('next');
  const mark = (name: string) => () => {
    marks.set(name, [...(marks.get(name) ?? []), Date.now()]);
    return name;
  };
  ev.addAssoc(go, ev.addStep('first', { func: mark('first'), triggers: { success: next } }));
  ev.addAssoc(next, ev.addStep('second', { func: mark('second') }), { delay });
  return { ev, go, next };
}

describe('delayed assocs', () => {
  it('sleeps until the delay is due, then acts on its targets', async () => {
    const box = sandbox();
    const marks = new Map<string, number[]>();
    const { ev, go } = delayedPair(box, marks, 80);

    ev.triggerEvent(go, 1);
    const began = Date.now();
    const result = await ev.run();
    const elapsed = Date.now() - began;

    expect(result.status).toBe('success');
    const first = marks.get('first')![0]!;
    const second = marks.get('second')![0]!;
    expect(second - first).toBeGreaterThanOrEqual(79);
    expect(second - first).toBeLessThan(80 + 250);
    expect(elapsed).toBeGreaterThanOrEqual(79);
  });

  it("takes a duration string such as '50ms' or '0.05s'", async () => {
    for (const delay of ['50ms', '0.05s']) {
      const box = sandbox();
      const marks = new Map<string, number[]>();
      const { ev, go } = delayedPair(box, marks, delay);
      ev.triggerEvent(go, 1);
      await ev.run();
      expect(marks.get('second')![0]! - marks.get('first')![0]!).toBeGreaterThanOrEqual(49);
    }
  });

  it('delays an event target the same way as a step target', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const times: number[] = [];
    const go = ev.addEvent('go');
    const relay = ev.addEvent('relay');
    ev.addAssoc(go, relay, { delay: 50 });
    ev.addAssoc(relay, ev.addStep('s', { func: () => times.push(Date.now()) }));

    const began = Date.now();
    ev.triggerEvent(go, 1);
    await ev.run();

    expect(times).toHaveLength(1);
    expect(times[0]! - began).toBeGreaterThanOrEqual(49);
  });

  it('keeps one delay per sequence, each with its own due time', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const seen: Array<[string, number]> = [];
    const go = ev.addEvent('go');
    ev.addAssoc(
      go,
      ev.addStep('s', {
        func: () => {
          seen.push([currentStep().sequence, Date.now()]);
        },
      }),
      { delay: 60 },
    );

    const began = Date.now();
    ev.triggerEvent(go, 1);
    const firstPass = await ev.run({ maxLoops: 1 });
    expect(firstPass.status).toBe('incomplete');
    await sleep(30);
    ev.triggerEvent(go, 2);
    expect(ev.pending().count).toBe(2);
    await ev.run();

    expect(seen.map(([sequence]) => sequence)).toEqual(['1', '2']);
    expect(seen[0]![1] - began).toBeGreaterThanOrEqual(59);
    expect(seen[1]![1] - seen[0]![1]).toBeGreaterThanOrEqual(20);
  });

  it('stores a pending delay durably: a new Eventor on the file reports it in pending()', async () => {
    const box = sandbox();
    const marks = new Map<string, number[]>();
    const first = delayedPair(box, marks, 400);
    first.ev.triggerEvent(first.go, 1);
    await first.ev.run({ maxLoops: 1 });
    const before = first.ev.pending();
    first.ev.close();

    expect(before.count).toBe(1);
    expect(before.nextDelayIn).toBeGreaterThan(200);
    expect(before.nextDelayIn).toBeLessThanOrEqual(400);

    await sleep(50);
    const reopened = delayedPair(box, marks, 400, { runMode: 'continue' });
    const after = reopened.ev.pending();
    expect(after.count).toBe(1);
    expect(after.nextDelayIn).toBeLessThanOrEqual(before.nextDelayIn! - 40);
    expect(after.nextDelayIn).toBeGreaterThan(0);
  });

  it('reports nextDelayIn 0 for a delay that is already due but not yet acted on', async () => {
    const box = sandbox();
    const marks = new Map<string, number[]>();
    const { ev, go } = delayedPair(box, marks, 20);
    ev.triggerEvent(go, 1);
    await ev.run({ maxLoops: 1 });
    await sleep(40);

    expect(ev.pending()).toEqual({ count: 1, nextDelayIn: 0 });
  });

  it('keeps the original due time of a pending delay in a continue run', async () => {
    const box = sandbox();
    const marks = new Map<string, number[]>();
    const first = delayedPair(box, marks, 300);
    first.ev.triggerEvent(first.go, 1);
    await first.ev.run({ maxLoops: 1 });
    first.ev.close();
    const firstAt = marks.get('first')![0]!;

    await sleep(250);
    const cont = delayedPair(box, marks, 300, { runMode: 'continue' });
    cont.ev.triggerEvent(cont.go, 1);
    const result = await cont.ev.run();

    expect(result.status).toBe('success');
    const secondAt = marks.get('second')![0]!;
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(299);
    // a due time recomputed at the continue would put it at 550 ms or later
    expect(secondAt - firstAt).toBeLessThan(500);
  });

  it('keeps the original due time of a pending delay in a recover run', async () => {
    const box = sandbox();
    const marks = new Map<string, number[]>();
    const first = delayedPair(box, marks, 300);
    first.ev.triggerEvent(first.go, 1);
    await first.ev.run({ maxLoops: 1 });
    first.ev.close();
    const firstAt = marks.get('first')![0]!;

    await sleep(250);
    const recover = delayedPair(box, marks, 300, { runMode: 'recover' });
    recover.ev.triggerEvent(recover.go, 1);
    const result = await recover.ev.run();

    expect(result).toMatchObject({ status: 'success', recovery: 1 });
    expect(marks.get('first')).toHaveLength(1);
    const secondAt = marks.get('second')![0]!;
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(299);
    expect(secondAt - firstAt).toBeLessThan(500);
  });

  it('fires a delay that fell due while no process was running, at once in the next run', async () => {
    const box = sandbox();
    const marks = new Map<string, number[]>();
    const first = delayedPair(box, marks, 300);
    first.ev.triggerEvent(first.go, 1);
    await first.ev.run({ maxLoops: 1 });
    first.ev.close();
    await sleep(350);

    const cont = delayedPair(box, marks, 300, { runMode: 'continue' });
    const began = Date.now();
    await cont.ev.run();

    expect(marks.get('second')).toHaveLength(1);
    // not a fresh 300 ms wait from this run's start
    expect(marks.get('second')![0]! - began).toBeLessThan(200);
  });

  it('does not wait again in a recover run for a delay that had already fired', async () => {
    const box = sandbox();
    const marks = new Map<string, number[]>();
    const build = (runMode: 'restart' | 'recover', broken: boolean) => {
      const ev = box.eventor({ runMode });
      const go = ev.addEvent('go');
      const next = ev.addEvent('next');
      ev.addAssoc(go, ev.addStep('first', { func: () => 'first', triggers: { success: next } }));
      ev.addAssoc(
        next,
        ev.addStep('second', {
          func: () => {
            marks.set('second', [...(marks.get('second') ?? []), Date.now()]);
            if (broken) throw new Error('broken');
          },
        }),
        { delay: 300 },
      );
      ev.triggerEvent(go, 1);
      return ev;
    };
    const first = build('restart', true);
    expect((await first.run()).status).toBe('failure');
    first.close();

    const second = build('recover', false);
    const began = Date.now();
    const result = await second.run();

    expect(result).toMatchObject({ status: 'success', recovery: 1 });
    expect(marks.get('second')).toHaveLength(2);
    // the delay was served in the first run; the rerun does not start it again
    expect(marks.get('second')![1]! - began).toBeLessThan(200);
  });

  it("still acts on a pending delay in a continue run after the program changed that assoc's duration", async () => {
    const box = sandbox();
    const marks = new Map<string, number[]>();
    const first = delayedPair(box, marks, 200);
    first.ev.triggerEvent(first.go, 1);
    await first.ev.run({ maxLoops: 1 });
    first.ev.close();
    await sleep(250);

    // the same flow, rebuilt with another delay on the same assoc (say, a config change)
    const cont = delayedPair(box, marks, 100, { runMode: 'continue' });
    const result = await cont.ev.run();

    expect(marks.get('second') ?? [], 'calls of the delayed step').toHaveLength(1);
    expect(result.status).toBe('success');
    expect(cont.ev.pending()).toEqual({ count: 0, nextDelayIn: null });
  });
});
