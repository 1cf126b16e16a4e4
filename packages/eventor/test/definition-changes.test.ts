import { describe, expect, it } from 'vitest';
import { type EventorOptions, ResourcePool } from '../src/index.js';
import { build, changeWarnings } from './fixtures/changing-flow.js';
import { storeSql } from './helpers/raw-store.js';
import { sandbox } from './helpers/sandbox.js';

describe('recover or continue with a changed definition', () => {
  it('logs one warning naming every added, removed and changed step, event and assoc', async () => {
    const box = sandbox('changes');
    const first = build(box, {});
    expect((await first.run()).status).toBe('failure');
    first.close();

    const again = build(box, { runMode: 'recover' }, { param: 4, withS3: false, withS4: true, orExpr: true });
    const extra = again.addEvent('extra');
    again.addAssoc(extra, again.addStep('s5'));
    expect((await again.run()).status).toBe('success');

    const warnings = changeWarnings(box);
    expect(warnings).toHaveLength(1);
    const warning = warnings[0] as string;
    expect(warning).toContain('added step "s4"');
    expect(warning).toContain('added step "s5"');
    expect(warning).toContain('removed step "s3"');
    expect(warning).toContain('changed step "s2" (args)');
    expect(warning).toContain('changed event "both" (expression)');
    expect(warning).toContain('added event "extra"');
    expect(warning).toContain('changed assoc "both -> s4" (targets were s3)');
    expect(warning).toContain('added assoc "extra -> s5"');
    expect(warning).not.toContain('"s1"');
    const fields = box.logger.at('warn').find((r) => (r.msg ?? '').includes('definition changed'))?.fields;
    expect(fields?.changes).toHaveLength(8);
  });

  it("names a step's changed func, triggers, recovery, acquires, releases and config, and an assoc's delay", async () => {
    const box = sandbox('changes');
    const pool = new ResourcePool('db', { limit: 2 });
    const first = build(box, {}, { param: 4, delay: 10 });
    expect((await first.run()).status).toBe('success');
    first.close();

    const again = build(
      box,
      { runMode: 'continue' },
      {
        param: 4,
        delay: 20,
        s1: {
          func: function other() {
            return 1;
          },
          recovery: { success: 'rerun' },
          acquires: [[pool, 1]],
          releases: [],
          config: { retries: 2, timeout: '1s' },
          triggers: {},
        },
      },
    );
    await again.run();
    const warning = changeWarnings(box)[0] as string;
    expect(warning).toContain('changed step "s1" (func, triggers, recovery, acquires, releases, config)');
    expect(warning).toContain('changed assoc "next -> s2" (delay 10 ms -> 20 ms)');
  });

  it('logs nothing when the definition is the same, args holding cycles, Maps, functions and dates included', async () => {
    const box = sandbox('changes');
    const args = () => {
      const cyclic: Record<string, unknown> = {
        when: new Date(5),
        map: new Map([['k', [1n]]]),
        fn: Math.max,
      };
      cyclic.self = cyclic;
      return [cyclic, new Set([1, 2]), new Uint8Array([1, 2, 3])];
    };
    const make = (runMode: EventorOptions['runMode'], value: number) => {
      const ev = box.eventor({ name: 'same', runMode });
      const go = ev.addEvent('go');
      const list = args();
      (list[1] as Set<number>).add(value);
      ev.addAssoc(go, ev.addStep('s', { func: (..._args: unknown[]) => 1, args: list }));
      ev.triggerEvent(go, 1);
      return ev;
    };
    const first = make('restart', 3);
    await first.run();
    first.close();
    const same = make('recover', 3);
    await same.run();
    same.close();
    expect(changeWarnings(box)).toEqual([]);

    const changed = make('recover', 4);
    await changed.run();
    expect(changeWarnings(box)).toEqual([expect.stringContaining('changed step "s" (args)')]);
  });

  it('runs steps whose args or func fight back: throwing getters, a throwing name, deep nesting', async () => {
    const box = sandbox('changes');
    const hostile = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter fights back');
      },
    });
    let deep: unknown[] = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const func = Object.defineProperty(() => 1, 'name', {
      get() {
        throw new Error('name fights back');
      },
    });
    const make = (runMode: EventorOptions['runMode']) => {
      const ev = box.eventor({ name: 'hostile', runMode });
      const go = ev.addEvent('go');
      ev.addAssoc(go, [
        ev.addStep('getter', { func: (_hostile: unknown) => 1, args: [hostile] }),
        ev.addStep('deep', { func: (_deep: unknown[]) => 1, args: [deep] }),
        ev.addStep('named', { func }),
      ]);
      ev.triggerEvent(go, 1);
      return ev;
    };
    const first = make('restart');
    expect((await first.run()).status).toBe('success');
    first.close();
    expect((await make('recover').run()).status).toBe('success');
    expect(changeWarnings(box)).toEqual([]);
  });

  it('compares only what a shape stored by an older version holds', async () => {
    const box = sandbox('changes');
    const first = build(box, {}, { param: 4 });
    await first.run();
    first.close();
    // a shape as version 1 stored it: no version, no func, args, recovery, releases or config
    const [row] = await storeSql<{ shape: string }>(box.store, 'SELECT shape FROM run_shapes');
    const shape = JSON.parse(row?.shape ?? '') as { version?: number; steps: Array<Record<string, unknown>> };
    delete shape.version;
    for (const step of shape.steps) for (const key of ['func', 'args', 'command']) delete step[key];
    await storeSql(box.store, 'UPDATE run_shapes SET shape = ?', JSON.stringify(shape));

    const again = build(box, { runMode: 'recover' }, { param: 4 });
    await again.run();
    again.close();
    expect(changeWarnings(box)).toEqual([]);
    const third = build(box, { runMode: 'recover' }, { param: 9 });
    await third.run();
    expect(changeWarnings(box)).toEqual([expect.stringContaining('changed step "s2" (args)')]);
  });

  it('warns when the same instance runs again after defining more', async () => {
    const box = sandbox('changes');
    const ev = build(box, {}, { param: 4 });
    await ev.run();
    const later = ev.addEvent('later');
    ev.addAssoc(later, ev.addStep('s6'));
    ev.triggerEvent(later, 1);
    await ev.run();
    expect(changeWarnings(box)).toEqual([
      expect.stringMatching(/added step "s6"; added event "later"; added assoc "later -> s6"\./),
    ]);
  });
});
