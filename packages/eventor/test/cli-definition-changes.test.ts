import { describe, expect, it } from 'vitest';
import { build } from './fixtures/changing-flow.js';
import { assertBuilt, eventorOk } from './fixtures-cli/cli.js';
import { sandbox } from './helpers/sandbox.js';

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
