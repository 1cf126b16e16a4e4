import { describe, expect, it } from 'vitest';
import { currentStep, FlowDefinitionError, StepStatus } from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

describe('triggerEvent', () => {
  it('treats sequence 3 and "3" as the same trigger', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s1', { func: () => calls.push('s1') }));

    expect(ev.triggerEvent(go, 3)).toBe(true);
    expect(ev.triggerEvent(go, '3')).toBe(false);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(calls).toEqual(['s1']);
    expect(ev.tasks().map((t) => [t.step, t.sequence])).toEqual([['s1', '3']]);
  });

  it('returns true the first time an event fires in a sequence and false after that', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s1'));

    expect(ev.triggerEvent(go, 1)).toBe(true);
    expect(ev.triggerEvent(go, 1)).toBe(false);
    expect(ev.triggerEvent(go, 2)).toBe(true);
    await ev.run();
    expect(ev.triggerEvent(go, 1)).toBe(false);

    expect(
      ev
        .tasks()
        .map((t) => t.sequence)
        .sort(),
    ).toEqual(['1', '2']);
  });

  it('acts on triggers in the order they were fired, not in the order of their sequence names', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const order: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s', { func: () => order.push(currentStep().sequence) }));

    for (const sequence of ['5', '3', '10', '9', '1']) ev.triggerEvent(go, sequence);
    await ev.run();

    expect(order).toEqual(['5', '3', '10', '9', '1']);
    expect(ev.tasks().map((t) => t.sequence)).toEqual(['5', '3', '10', '9', '1']);
  });

  it('keeps any string as a sequence, as given', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const seen: string[] = [];
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s', { func: () => seen.push(currentStep().sequence) }));
    const sequences = ['2026-11-22', 'a/b c', 'ünïcødé', '1.2.3', '007', ' padded '];

    for (const sequence of sequences) expect(ev.triggerEvent(go, sequence)).toBe(true);
    await ev.run();

    expect(seen).toEqual(sequences);
    expect(ev.triggerEvent(go, '7')).toBe(true);
    expect(ev.triggerEvent(go, 7)).toBe(false);
  });

  it('lets an event and a step share a name', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const extract = ev.addEvent('extract');
    ev.addAssoc(extract, ev.addStep('extract', { func: () => calls.push('extract') }));

    ev.triggerEvent(extract, 1);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(calls).toEqual(['extract']);
  });

  it('uses sequence "0" when none is given', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(go, ev.addStep('s1'));

    expect(ev.triggerEvent(go)).toBe(true);
    expect(ev.triggerEvent(go, '0')).toBe(false);
    await ev.run();

    expect(ev.tasks().map((t) => t.sequence)).toEqual(['0']);
  });

  it('fires an event once per sequence when several steps trigger it', async () => {
    const box = sandbox();
    const ev = box.eventor();
    let joined = 0;
    const go = ev.addEvent('go');
    const both = ev.addEvent('both');
    const a = ev.addStep('a', { func: () => 'a', triggers: { success: both } });
    const b = ev.addStep('b', { func: () => 'b', triggers: { success: both } });
    ev.addAssoc(go, [a, b]);
    ev.addAssoc(
      both,
      ev.addStep('join', {
        func: () => {
          joined += 1;
        },
      }),
    );

    ev.triggerEvent(go, 1);
    ev.triggerEvent(go, 2);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(joined).toBe(2);
    expect(
      ev
        .tasks({ step: 'join' })
        .map((t) => t.sequence)
        .sort(),
    ).toEqual(['1', '2']);
  });

  it('picks up an event triggered from inside a running step', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    const later = ev.addEvent('later');
    ev.addAssoc(
      go,
      ev.addStep('first', {
        func: async () => {
          calls.push('first');
          expect(ev.triggerEvent(later, 7)).toBe(true);
        },
      }),
    );
    ev.addAssoc(later, ev.addStep('second', { func: () => calls.push('second') }));

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(calls).toEqual(['first', 'second']);
    expect(ev.tasks({ step: 'second' })[0]?.sequence).toBe('7');
  });
});

describe('addEvent', () => {
  it('returns the existing event when the name and expression are the same', () => {
    const box = sandbox();
    const ev = box.eventor();
    const a = ev.addEvent('a');
    const b = ev.addEvent('b');
    const both = ev.addEvent('both', { expr: [a, b] });

    expect(ev.addEvent('a')).toBe(a);
    expect(ev.addEvent('both', { expr: [a, b] })).toBe(both);
  });

  it('throws FlowDefinitionError when the name exists with a different expression', () => {
    const box = sandbox();
    const ev = box.eventor();
    const a = ev.addEvent('a');
    const b = ev.addEvent('b');
    ev.addEvent('both', { expr: [a, b] });

    expect(() => ev.addEvent('both', { expr: [a] })).toThrow(FlowDefinitionError);
    expect(() => ev.addEvent('both', { expr: [a] })).toThrow(/"both"/);
    expect(() => ev.addEvent('both')).toThrow(FlowDefinitionError);
    expect(() => ev.addEvent('a', { expr: b })).toThrow(/"a".*different expression/);
  });
});

describe('addStep', () => {
  it('throws FlowDefinitionError when a step of that name exists, even with the same definition', () => {
    const box = sandbox();
    const ev = box.eventor();
    const func = () => 1;
    ev.addStep('s1', { func });

    expect(() => ev.addStep('s1', { func })).toThrow(FlowDefinitionError);
    expect(() => ev.addStep('s1')).toThrow(/Step "s1" is already defined/);
  });
});

describe('addAssoc', () => {
  it('acts on step targets in the order they were added', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    const step = (name: string) => ev.addStep(name, { func: () => calls.push(name) });
    const sa = step('a');
    const sb = step('b');
    const sc = step('c');
    ev.addAssoc(go, [sc, sa]);
    ev.addAssoc(go, sb);

    ev.triggerEvent(go, 1);
    await ev.run();

    expect(calls).toEqual(['c', 'a', 'b']);
    expect(ev.tasks().map((t) => t.step)).toEqual(['c', 'a', 'b']);
  });

  it('fires an event target in the same sequence', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const seen: string[] = [];
    const go = ev.addEvent('go');
    const relay = ev.addEvent('relay');
    ev.addAssoc(go, relay);
    ev.addAssoc(relay, ev.addStep('s', { func: (tag: string) => seen.push(tag), args: ['ran'] }));

    ev.triggerEvent(go, 'x');
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(seen).toEqual(['ran']);
    expect(ev.tasks().map((t) => [t.step, t.sequence])).toEqual([['s', 'x']]);
    expect(ev.triggerEvent(relay, 'x')).toBe(false);
  });

  it('mixes step and event targets in one assoc, in order', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    const relay = ev.addEvent('relay');
    const step = (name: string) => ev.addStep(name, { func: () => calls.push(name) });
    ev.addAssoc(go, [step('first'), relay, step('last')]);
    ev.addAssoc(relay, step('relayed'));

    ev.triggerEvent(go, 1);
    await ev.run();

    expect(ev.tasks().map((t) => t.step)).toEqual(['first', 'last', 'relayed']);
    expect(calls).toEqual(['first', 'last', 'relayed']);
  });
});

describe('step triggers', () => {
  it('fires ready, active and success triggers as a step reaches each status', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const order: string[] = [];
    const go = ev.addEvent('go');
    const onReady = ev.addEvent('on_ready');
    const onActive = ev.addEvent('on_active');
    const onSuccess = ev.addEvent('on_success');
    const onFailure = ev.addEvent('on_failure');
    const onComplete = ev.addEvent('on_complete');
    const work = ev.addStep('work', {
      func: async () => {
        order.push('work');
      },
      triggers: {
        [StepStatus.ready]: onReady,
        [StepStatus.active]: [onActive],
        [StepStatus.success]: onSuccess,
        [StepStatus.failure]: onFailure,
        [StepStatus.complete]: onComplete,
      },
    });
    ev.addAssoc(go, work);
    for (const [event, name] of [
      [onReady, 'ready'],
      [onActive, 'active'],
      [onSuccess, 'success'],
      [onFailure, 'failure'],
      [onComplete, 'complete'],
    ] as const) {
      ev.addAssoc(event, ev.addStep(`after_${name}`, { func: () => order.push(name) }));
    }

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(order).toContain('work');
    expect(order).toContain('ready');
    expect(order).toContain('active');
    expect(order.indexOf('success')).toBeGreaterThan(order.indexOf('work'));
    expect(order.indexOf('complete')).toBeGreaterThan(order.indexOf('work'));
    expect(order).not.toContain('failure');
  });

  it('fires failure and complete triggers when a step throws', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const order: string[] = [];
    const go = ev.addEvent('go');
    const onSuccess = ev.addEvent('on_success');
    const onFailure = ev.addEvent('on_failure');
    const onComplete = ev.addEvent('on_complete');
    ev.addAssoc(
      go,
      ev.addStep('work', {
        func: () => {
          throw new Error('no');
        },
        triggers: { success: onSuccess, failure: onFailure, complete: onComplete },
      }),
    );
    for (const [event, name] of [
      [onSuccess, 'success'],
      [onFailure, 'failure'],
      [onComplete, 'complete'],
    ] as const) {
      ev.addAssoc(event, ev.addStep(`after_${name}`, { func: () => order.push(name) }));
    }

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(order.sort()).toEqual(['complete', 'failure']);
    expect(result).toMatchObject({ ok: true, status: 'success' });
  });

  it('succeeds at once and fires success triggers when a step has no func', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const calls: string[] = [];
    const go = ev.addEvent('go');
    const done = ev.addEvent('done');
    ev.addAssoc(go, ev.addStep('noop', { triggers: { success: done } }));
    ev.addAssoc(done, ev.addStep('after', { func: () => calls.push('after') }));

    ev.triggerEvent(go, 1);
    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(calls).toEqual(['after']);
    expect(ev.tasks({ step: 'noop' })[0]).toMatchObject({ status: 'success', attempts: 1, skipped: false });
  });
});
