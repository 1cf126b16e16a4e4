import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { type Eventor, type EventorOptions, ResourcePool, type StepOptions } from '../src/index.js';
import { assertBuilt, eventorOk } from './fixtures-cli/cli.js';
import { type Sandbox, sandbox } from './helpers/sandbox.js';

interface Variant {
  /** s2's arg: negative fails */
  param?: number;
  withS3?: boolean;
  withS4?: boolean;
  /** delay of the assoc next -> s2 */
  delay?: number;
  /** extra options of s1 */
  s1?: StepOptions;
  /** expression of the event `both` */
  orExpr?: boolean;
}

/** go -> s1; s1 success fires next; next -> s2 (maybe delayed); both (s1 and s2 done) -> s3 / s4. */
function build(box: Sandbox, options: EventorOptions, v: Variant = {}): Eventor {
  const ev = box.eventor({ name: 'changing', ...options });
  const go = ev.addEvent('go');
  const next = ev.addEvent('next');
  const s2Done = ev.addEvent('s2_done');
  const both = ev.addEvent('both', { expr: v.orExpr ? [next] : [next, s2Done] });
  ev.addAssoc(go, ev.addStep('s1', { func: () => 1, triggers: { success: next }, ...v.s1 } as StepOptions));
  ev.addAssoc(
    next,
    ev.addStep('s2', {
      func: function root(x: number) {
        if (x < 0) throw new RangeError('negative');
        return Math.sqrt(x);
      },
      args: [v.param ?? -1],
      triggers: { success: s2Done },
    }),
    v.delay === undefined ? {} : { delay: v.delay },
  );
  const finals = [];
  if (v.withS3 ?? true) finals.push(ev.addStep('s3', { func: () => 3 }));
  if (v.withS4) finals.push(ev.addStep('s4', { command: ['node', '-e', '0'] }));
  if (finals.length > 0) ev.addAssoc(both, finals);
  ev.triggerEvent(go, 1);
  return ev;
}

function changeWarnings(box: Sandbox): string[] {
  return box.logger
    .at('warn')
    .map((r) => r.msg ?? '')
    .filter((msg) => msg.includes('definition changed'));
}

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
    const db = new Database(box.store);
    const row = db.prepare('SELECT shape FROM run_shapes').get() as { shape: string };
    const shape = JSON.parse(row.shape) as { version?: number; steps: Array<Record<string, unknown>> };
    delete shape.version;
    for (const step of shape.steps) for (const key of ['func', 'args', 'command']) delete step[key];
    db.prepare('UPDATE run_shapes SET shape = ?').run(JSON.stringify(shape));
    db.close();

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

describe('eventor show with a changed definition', () => {
  it('prints what changed each time the run was taken up with a changed definition', async () => {
    assertBuilt();
    const box = sandbox('changes');
    const first = build(box, {});
    await first.run();
    first.close();
    const second = build(box, { runMode: 'recover' }, { param: -4, withS3: false, withS4: true });
    await second.run();
    second.close();
    const third = build(box, { runMode: 'recover' }, { param: 4, withS4: true, delay: 5 });
    await third.run();
    third.close();

    const out = eventorOk('show', box.store);
    const lines = out.split('\n');
    const at = (n: number) =>
      lines.findIndex((line) => line.startsWith(`Definition changed in recovery ${n} (`));
    expect(at(1)).toBeGreaterThan(0);
    expect(at(2)).toBeGreaterThan(at(1));
    expect(lines.slice(at(1) + 1, at(2))).toEqual([
      '  changed step "s2" (args)',
      '  added step "s4"',
      '  removed step "s3"',
      '  changed assoc "both -> s4" (targets were s3)',
    ]);
    expect(lines.slice(at(2) + 1, at(2) + 5)).toEqual([
      '  changed step "s2" (args)',
      '  added step "s3"',
      '  changed assoc "next -> s2" (delay 0 ms -> 5 ms)',
      '  changed assoc "both -> s3, s4" (targets were s4)',
    ]);
    expect(out).toMatch(/STEP\s+SEQUENCE/);
  });

  it('prints no such section for a run whose definition never changed', async () => {
    assertBuilt();
    const box = sandbox('changes');
    const first = build(box, {});
    await first.run();
    first.close();
    const again = build(box, { runMode: 'recover' });
    await again.run();
    again.close();
    expect(eventorOk('show', box.store)).not.toContain('Definition changed');
  });
});
