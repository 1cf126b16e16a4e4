import { describe, expect, it } from 'vitest';
import type { Eventor } from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

function flow(ev: Eventor, calls: string[]) {
  const go = ev.addEvent('go');
  const next = ev.addEvent('next');
  ev.addAssoc(go, ev.addStep('s1', { func: () => calls.push('s1'), triggers: { success: next } }));
  ev.addAssoc(next, ev.addStep('s2', { func: () => calls.push('s2') }));
  return go;
}

const nothingToDo = (msg: string | undefined) => /nothing to do/.test(msg ?? '');

describe('run() with nothing triggered', () => {
  it('warns that nothing was triggered and nothing is pending, naming the flow and triggerEvent', async () => {
    const box = sandbox();
    const ev = box.eventor({ name: 'nightly' });
    flow(ev, []);
    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success' });
    const warnings = box.logger.at('warn').filter((r) => nothingToDo(r.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain('"nightly"');
    expect(warnings[0]?.msg).toContain('triggerEvent');
  });

  it('does not warn when an event was triggered, nor when the run is continued after it finished', async () => {
    const box = sandbox();
    const ev = box.eventor({ name: 'nightly' });
    ev.triggerEvent(flow(ev, []), 1);
    expect((await ev.run()).status).toBe('success');
    expect((await ev.run()).status).toBe('success');
    ev.close();
    const again = box.eventor({ name: 'nightly', runMode: 'continue' });
    flow(again, []);
    expect((await again.run()).status).toBe('success');
    expect(box.logger.records.filter((r) => nothingToDo(r.msg))).toEqual([]);
  });
});

describe('run({ maxLoops: 0 })', () => {
  it('makes no pass: nothing runs, the run is incomplete, and the work stays for a later run', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const ev = box.eventor({ name: 'zero' });
    ev.triggerEvent(flow(ev, calls), 1);

    const result = await ev.run({ maxLoops: 0 });
    expect(result).toMatchObject({ ok: true, status: 'incomplete' });
    expect(calls).toEqual([]);
    expect(ev.tasks()).toEqual([]);
    expect(ev.pending().count).toBe(1);
    ev.close();

    const later = box.eventor({ name: 'zero', runMode: 'continue' });
    flow(later, calls);
    expect((await later.run()).status).toBe('success');
    expect(calls).toEqual(['s1', 's2']);
  });

  it('makes no pass on a run that already ran: an event triggered since stays pending', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const ev = box.eventor({ name: 'zero' });
    ev.triggerEvent(flow(ev, calls), 1);
    expect((await ev.run({ maxLoops: 1 })).status).toBe('success');
    const go = ev.addEvent('go');
    ev.triggerEvent(go, 2);
    expect((await ev.run({ maxLoops: 0 })).status).toBe('incomplete');
    expect(calls).toEqual(['s1', 's2']);
    expect(ev.pending().count).toBe(1);
  });

  it('ends success when nothing is pending', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const ev = box.eventor();
    ev.triggerEvent(flow(ev, calls), 1);
    expect((await ev.run()).status).toBe('success');
    expect(await ev.run({ maxLoops: 0 })).toMatchObject({ ok: true, status: 'success' });
    expect(calls).toEqual(['s1', 's2']);
  });
});
