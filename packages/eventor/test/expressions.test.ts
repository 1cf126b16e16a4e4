import { describe, expect, it } from 'vitest';
import { and, type Eventor, type EventRef, or } from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

/** Three source events a, b, c; `watch(expr)` adds an event with that expression and a step that counts its fires. */
function setup(ev: Eventor) {
  const a = ev.addEvent('a');
  const b = ev.addEvent('b');
  const c = ev.addEvent('c');
  const fired: string[] = [];
  const watch = (name: string, expr: Parameters<Eventor['addEvent']>[1]) => {
    const event = ev.addEvent(name, expr);
    ev.addAssoc(
      event,
      ev.addStep(`on_${name}`, {
        func: (tag: string) => {
          fired.push(tag);
        },
        args: [name],
      }),
    );
    return event;
  };
  return { a, b, c, fired, watch };
}

async function fireAndRun(ev: Eventor, events: EventRef[], sequence: string | number = 1) {
  for (const event of events) ev.triggerEvent(event, sequence);
  return ev.run();
}

describe('event expressions', () => {
  it('fires a list expression only when every event in it has fired', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { a, b, fired, watch } = setup(ev);
    watch('all', { expr: [a, b] });

    await fireAndRun(ev, [a]);
    expect(fired).toEqual([]);
    await fireAndRun(ev, [b]);
    expect(fired).toEqual(['all']);
  });

  it('treats and() like a list', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { a, b, c, fired, watch } = setup(ev);
    watch('all', { expr: and(a, b, c) });

    await fireAndRun(ev, [a, c]);
    expect(fired).toEqual([]);
    await fireAndRun(ev, [b]);
    expect(fired).toEqual(['all']);
  });

  it('fires or() when any one of its events fires, and only once when more fire', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { a, b, fired, watch } = setup(ev);
    watch('any', { expr: or(a, b) });

    await fireAndRun(ev, [b]);
    expect(fired).toEqual(['any']);
    await fireAndRun(ev, [a]);
    expect(fired).toEqual(['any']);
  });

  it('treats an event that has not fired as false, whichever side of or() it is on', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { a, b, fired, watch } = setup(ev);
    watch('left_missing', { expr: or(a, b) });
    watch('right_missing', { expr: or(b, a) });
    watch('and_missing', { expr: and(a, b) });

    const result = await fireAndRun(ev, [b]);

    expect(result.status).toBe('success');
    expect(fired.sort()).toEqual(['left_missing', 'right_missing']);
  });

  it('evaluates a nested or([a, b], c): an AND group or c', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { a, b, c, fired, watch } = setup(ev);
    watch('nested', { expr: or([a, b], c) });

    await fireAndRun(ev, [a], 1);
    expect(fired).toEqual([]);
    await fireAndRun(ev, [b], 1);
    expect(fired).toEqual(['nested']);

    await fireAndRun(ev, [c], 2);
    expect(fired).toEqual(['nested', 'nested']);

    await fireAndRun(ev, [a], 3);
    expect(fired).toEqual(['nested', 'nested']);
    expect(
      ev
        .tasks({ step: 'on_nested' })
        .map((t) => t.sequence)
        .sort(),
    ).toEqual(['1', '2']);
  });

  it('evaluates and(or(a, b), c) with nesting the other way round', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { a, b, c, fired, watch } = setup(ev);
    watch('mixed', { expr: and(or(a, b), c) });

    await fireAndRun(ev, [c], 1);
    expect(fired).toEqual([]);
    await fireAndRun(ev, [b], 1);
    expect(fired).toEqual(['mixed']);
  });

  it('evaluates each sequence on its own events', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { a, b, watch } = setup(ev);
    watch('all', { expr: [a, b] });

    ev.triggerEvent(a, 1);
    ev.triggerEvent(b, 2);
    await ev.run();
    expect(ev.tasks({ step: 'on_all' })).toEqual([]);

    ev.triggerEvent(b, 1);
    await ev.run();
    expect(ev.tasks({ step: 'on_all' }).map((t) => t.sequence)).toEqual(['1']);
  });

  it('fires an expression over events that themselves have expressions', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { a, b, c, fired, watch } = setup(ev);
    const ab = watch('ab', { expr: [a, b] });
    watch('top', { expr: or(ab, and(c, ab)) });

    await fireAndRun(ev, [a, b]);

    expect(fired.sort()).toEqual(['ab', 'top']);
  });

  it('fires an expression when its events are fired by step triggers in the same run', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const d1 = ev.addEvent('done1');
    const d2 = ev.addEvent('done2');
    const both = ev.addEvent('both', { expr: [d1, d2] });
    const calls: string[] = [];
    ev.addAssoc(go, [
      ev.addStep('s1', { func: async () => calls.push('s1'), triggers: { success: d1 } }),
      ev.addStep('s2', { func: async () => calls.push('s2'), triggers: { success: d2 } }),
    ]);
    ev.addAssoc(both, ev.addStep('s3', { func: () => calls.push('s3') }));

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(calls.slice(0, 2).sort()).toEqual(['s1', 's2']);
    expect(calls[2]).toBe('s3');
  });

  it('lets an event with an expression be triggered directly, and still fires it only once per sequence', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const { a, b, fired, watch } = setup(ev);
    const all = watch('all', { expr: [a, b] });

    expect(ev.triggerEvent(all, 1)).toBe(true);
    await ev.run();
    expect(fired).toEqual(['all']);

    await fireAndRun(ev, [a, b], 1);
    expect(fired).toEqual(['all']);
    expect(ev.triggerEvent(all, 1)).toBe(false);

    await fireAndRun(ev, [a, b], 2);
    expect(fired).toEqual(['all', 'all']);
  });
});
