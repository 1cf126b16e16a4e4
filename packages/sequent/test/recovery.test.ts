import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RunMode, StepReplay, StepStatus } from '../src/index.js';
import { crashFlow } from './fixtures/crash-flow.js';
import { executed, type Sandbox, sandbox } from './helpers/sandbox.js';

/** The seed's recovery example: prog fails for `stepToFail` in `iterationToFail`. */
function buildFlow(
  box: Sandbox,
  options: { runMode?: RunMode; stepToFail?: string; iterationToFail?: string },
  calls: string[],
) {
  const flow = box.flow(options.runMode ? { runMode: options.runMode } : {});
  const prog = (progname: string) => {
    const name = flow.getStepName();
    const sequence = flow.getStepSequence();
    calls.push(`${name}/${sequence}`);
    if (name === options.stepToFail && sequence === options.iterationToFail) {
      throw new Error(`${progname} failed (${name}/${sequence})`);
    }
    return progname;
  };
  const s1 = flow.addStep('s1', { repeats: [1, 2] });
  const s11 = s1.addStep('s11', { repeats: [1, 2] });
  const s111 = s11.addStep('s111', { func: prog, args: ['prog1'] });
  s11.addStep('s112', { func: prog, args: ['prog2'], requires: [[s111, StepStatus.success]] });
  s1.addStep('s12', { func: prog, args: ['prog3'], requires: [[s11, StepStatus.success]] });
  flow.addStep('s2', { func: prog, args: ['prog4'], requires: [[s1, StepStatus.success]] });
  return flow;
}

describe('Sequent recovery', () => {
  it('reruns only the failed leaf onward after a failure in 1.2.2 (two Sequent objects, one file)', async () => {
    const box = sandbox();
    const first: string[] = [];
    const failing = buildFlow(box, { stepToFail: 's1_s11_s111', iterationToFail: '1.2.2' }, first);
    const failed = await failing.run();
    expect(failed).toMatchObject({ ok: false, status: 'failure', recovery: 0 });
    expect(first).toEqual([
      's1_s11_s111/1.1.1',
      's1_s11_s112/1.1.1',
      's1_s11_s111/1.1.2',
      's1_s11_s112/1.1.2',
      's1_s12/1.1',
      's1_s11_s111/1.2.1',
      's1_s11_s112/1.2.1',
      's1_s11_s111/1.2.2',
    ]);
    const failure = failing.tasks().find((task) => task.status === 'failure');
    expect(failure).toMatchObject({ step: 's1_s11_s111', sequence: '1.2.2' });
    expect(failure?.error?.message).toContain('prog1 failed (s1_s11_s111/1.2.2)');
    failing.close();

    const second: string[] = [];
    const recovering = buildFlow(box, { runMode: RunMode.recover }, second);
    const recovered = await recovering.run();
    expect(recovered).toMatchObject({ ok: true, status: 'success', recovery: 1, runId: failed.runId });
    expect(second).toEqual(['s1_s11_s111/1.2.2', 's1_s11_s112/1.2.2', 's1_s12/1.2', 's2/1']);
    const rerun = recovering.tasks({ recovery: 1 }).filter((task) => !task.skipped);
    expect(executed(rerun)).toEqual(['s1_s11_s111/1.2.2', 's1_s11_s112/1.2.2', 's1_s12/1.2', 's2/1']);
    const skipped = recovering.tasks({ recovery: 1 }).filter((task) => task.skipped);
    expect(executed(skipped)).toEqual([
      's1_s11_s111/1.1.1',
      's1_s11_s112/1.1.1',
      's1_s11_s111/1.1.2',
      's1_s11_s112/1.1.2',
      's1_s12/1.1',
      's1_s11_s111/1.2.1',
      's1_s11_s112/1.2.1',
    ]);
    recovering.close();

    const third: string[] = [];
    const again = buildFlow(box, { runMode: RunMode.recover }, third);
    expect(await again.run()).toMatchObject({ ok: true, status: 'success', recovery: 2 });
    expect(third).toEqual([]);
  });

  it('applies a leaf recovery policy: rerun a success when told to', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const build = (runMode: RunMode, fail: boolean) => {
      const flow = box.flow({ runMode });
      const a = flow.addStep('a', {
        func: () => calls.push('a'),
        recovery: { [StepStatus.success]: StepReplay.rerun },
      });
      const b = flow.addStep('b', { func: () => calls.push('b'), requires: [[a, StepStatus.success]] });
      flow.addStep('c', {
        func: () => {
          calls.push('c');
          if (fail) throw new Error('c broke');
        },
        requires: [[b, StepStatus.success]],
      });
      return flow;
    };
    const first = build(RunMode.restart, true);
    expect((await first.run()).ok).toBe(false);
    first.close();
    const second = build(RunMode.recover, false);
    expect((await second.run()).ok).toBe(true);
    expect(calls).toEqual(['a', 'b', 'c', 'a', 'c']);
  });

  it('continues a run stopped by maxLoops with runMode continue', async () => {
    const box = sandbox();
    const calls: string[] = [];
    const build = (runMode: RunMode) => {
      const flow = box.flow({ runMode });
      const c = flow.addStep('c', { repeats: [1, 2, 3] });
      c.addStep('leaf', { func: () => calls.push(flow.getStepSequence()), delay: '40ms' });
      return flow;
    };
    const first = build(RunMode.restart);
    expect(await first.run({ maxLoops: 1 })).toMatchObject({ ok: true, status: 'incomplete' });
    first.close();
    const second = build(RunMode.continue);
    expect(await second.run()).toMatchObject({ ok: true, status: 'success', recovery: 0 });
    expect(calls).toEqual(['1.1', '1.2', '1.3']);
  });
});

describe('Sequent recovery after a crash', () => {
  it('recovers a run whose process was killed inside an iteration, from the killed leaf onward', async () => {
    const box = sandbox();
    const journal = box.path('journal.log');
    const script = fileURLToPath(new URL('./fixtures/crash-flow.ts', import.meta.url));
    let signal: string | null = null;
    try {
      execFileSync(process.execPath, ['--import', 'tsx', script, box.store, journal], {
        env: { ...process.env, CRASH: '1' },
        stdio: 'pipe',
      });
    } catch (error) {
      signal = (error as { signal: string | null }).signal;
    }
    expect(signal).toBe('SIGKILL');
    const lines = () => readFileSync(journal, 'utf8').trim().split('\n');
    expect(lines()).toEqual(['c_first/1.1', 'c_work/1.1', 'c_first/1.2', 'c_work/1.2']);

    const flow = crashFlow(box.store, journal, RunMode.recover);
    const result = await flow.run();
    flow.close();
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(lines().slice(4)).toEqual(['c_work/1.2', 'c_first/1.3', 'c_work/1.3', 'after/1']);
  });
});
