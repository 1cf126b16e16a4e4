import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import { buildCrashFlow } from './fixtures-core/flows.mjs';
import { FlowChild } from './helpers/child.js';
import { type Sandbox, sandbox } from './helpers/sandbox.js';

/** Lines `<step>/<sequence>` appended by every call of a crash-flow step, in any process. */
function executions(box: Sandbox): string[] {
  const file = box.path('executions.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

function count(lines: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) counts[line] = (counts[line] ?? 0) + 1;
  return counts;
}

describe('crash recovery', () => {
  it('recovers a run whose process was killed with SIGKILL while a step ran: what succeeded is skipped, the rest runs once', async () => {
    const box = sandbox('crash');
    const child = new FlowChild(['crash', box.store, box.dir, '1,2']);
    const started = await child.next('started');
    await child.next('hanging');
    await child.next('hanging');
    await child.kill();

    const beforeRecovery = executions(box);
    expect(count(beforeRecovery)).toEqual({
      's1/1': 1,
      's1/2': 1,
      'side/1': 1,
      'side/2': 1,
      's2/1': 1,
      's2/2': 1,
    });

    const ev = box.track(
      buildCrashFlow(lib, { store: box.store, dir: box.dir, runMode: 'recover', sequences: ['1', '2'] }),
    );
    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success', runId: started.runId, recovery: 1 });
    const recoveryCalls = executions(box).slice(beforeRecovery.length);
    expect(count(recoveryCalls)).toEqual({ 's2/1': 1, 's2/2': 1, 's3/1': 1, 's3/2': 1 });

    // what the killed process had committed: finished steps stayed finished, s2 was left active
    const killed = ev.tasks({ recovery: 0 });
    expect(killed.map((t) => `${t.step}/${t.sequence}:${t.status}`).sort()).toEqual([
      's1/1:success',
      's1/2:success',
      's2/1:active',
      's2/2:active',
      'side/1:success',
      'side/2:success',
    ]);
    const recovered = ev.tasks({ recovery: 1 });
    expect(
      recovered.map((t) => `${t.step}/${t.sequence}:${t.status}${t.skipped ? ':skipped' : ''}`).sort(),
    ).toEqual([
      's1/1:success:skipped',
      's1/2:success:skipped',
      's2/1:success',
      's2/2:success',
      's3/1:success',
      's3/2:success',
      'side/1:success:skipped',
      'side/2:success:skipped',
    ]);
    expect(recovered.find((t) => t.step === 's1')?.result).toBe(1);
  });

  it('runs nothing more when the killed run is recovered a second time', async () => {
    const box = sandbox('crash');
    const child = new FlowChild(['crash', box.store, box.dir, '1']);
    await child.next('hanging');
    await child.kill();

    const first = box.track(buildCrashFlow(lib, { store: box.store, dir: box.dir, runMode: 'recover' }));
    expect((await first.run()).status).toBe('success');
    first.close();
    const calls = executions(box).length;

    const second = box.track(buildCrashFlow(lib, { store: box.store, dir: box.dir, runMode: 'recover' }));
    const result = await second.run();

    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 2 });
    expect(executions(box)).toHaveLength(calls);
  });

  it('continues a killed run in the same recovery: the step that was running runs again, finished ones do not', async () => {
    const box = sandbox('crash');
    const child = new FlowChild(['crash', box.store, box.dir, '1']);
    const started = await child.next('started');
    await child.next('hanging');
    await child.kill();
    const before = executions(box).length;

    const ev = box.track(buildCrashFlow(lib, { store: box.store, dir: box.dir, runMode: 'continue' }));
    const result = await ev.run();

    expect(result).toMatchObject({ ok: true, status: 'success', runId: started.runId, recovery: 0 });
    expect(count(executions(box).slice(before))).toEqual({ 's2/1': 1, 's3/1': 1 });
    expect(ev.tasks().map((t) => `${t.step}:${t.status}`)).toEqual([
      's1:success',
      'side:success',
      's2:success',
      's3:success',
    ]);
  });
});
