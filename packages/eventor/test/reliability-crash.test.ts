import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import * as lib from '../src/index.js';
import {
  buildFlow,
  CHILD_SCRIPT,
  EXECUTIONS,
  expectedTasks,
  type FlowSpec,
  runScenario,
  runSeed,
  type ScenarioReport,
  type StepSpec,
} from './fixtures-reliability/harness.mjs';
import {
  checkInvariants,
  dropStore,
  type Kill,
  readExecutions,
  readStore,
  runChild,
  scenarioStore,
  storeDigest,
} from './fixtures-reliability/kit.mjs';
import { assertDistIsCurrent } from './helpers/child.js';
import { storeSql } from './helpers/raw-store.js';

/** Seeds the normal test run checks; `pnpm test:crash --runs N` runs many more. */
const CI_SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

beforeAll(() => assertDistIsCurrent());

function explain(report: ScenarioReport): string {
  const plan = report.attempts.map((a) => `${a.runMode} ${a.kill} -> ${a.outcome}`).join(', ');
  return `seed ${report.seed}: ${report.flow}; ${plan}\nreplay: node packages/eventor/scripts/crash.mjs --seed ${report.seed}`;
}

function flowSpec(runId: string, steps: StepSpec[], extra: Partial<FlowSpec> = {}): FlowSpec {
  return { seed: 0, runId, steps, sequences: ['1'], maxConcurrent: -1, poolLimit: 0, ...extra };
}
const root = { type: 'root' } as const;
const after = (parent: string, delayMs = 0) => ({ type: 'after', parent, delayMs }) as const;

/** Kills at `kind`:1, 2, ... until a child finishes its run before its kill point; all reports. */
async function sweep(spec: FlowSpec, kind: 'after' | 'inside', limit = 80): Promise<ScenarioReport[]> {
  const reports: ScenarioReport[] = [];
  for (let at = 1; at <= limit; at += 4) {
    const ats = [at, at + 1, at + 2, at + 3];
    const batch = await Promise.all(
      ats.map((n) =>
        runScenario({ ...spec, seed: n, runId: `${spec.runId}-${kind}-${n}` }, [{ kind, at: n }], { lib }),
      ),
    );
    reports.push(...batch);
    if (batch.some((report) => report.attempts[0]?.outcome === 'finished')) return reports;
  }
  throw new Error(`a child still got killed at ${kind}:${limit}: is the run that long?`);
}

/** A temp folder removed when the test ends (`context` of a concurrent test: its own hooks). */
function tempDir(context: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'flow-reliability-'));
  context.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Alive and not a zombie (an orphan whose reaper does not reap would look alive to kill(pid, 0)). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return existsSync(`/proc/${pid}`);
  }
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
}

/** Starts `spec` in a child and kills it once `step` has been called (its call is recorded). */
async function killWhileRunning(context: TestContext, spec: FlowSpec, step: string) {
  const dir = tempDir(context);
  const store = scenarioStore(dir);
  context.onTestFinished(() => dropStore(store));
  const specPath = join(dir, 'spec.json');
  const log = join(dir, EXECUTIONS);
  writeFileSync(specPath, JSON.stringify(spec));
  const called = () => readExecutions(log).find((call) => call.s === step);
  const child = await runChild(CHILD_SCRIPT, [specPath, store, dir, 'restart'], {
    killWhen: () => called() !== undefined,
  });
  const digest = await storeDigest(store);
  return { dir, store, log, child, call: called(), digest };
}

/** Recovers `spec` in this process and checks the invariants; returns the final tasks and calls. */
async function recoverHere(spec: FlowSpec, dir: string, store: string) {
  const ev = buildFlow(lib, spec, { store, dir, runMode: 'recover' });
  try {
    const result = await ev.run();
    const tasks = ev.tasks();
    const executions = readExecutions(join(dir, EXECUTIONS));
    const failures = checkInvariants({
      expected: expectedTasks(spec),
      tasks,
      executions,
      finalRecovery: result.recovery,
    });
    return {
      result,
      tasks,
      executions,
      failures,
      integrity: (await readStore(store, spec.runId))?.integrity,
    };
  } finally {
    ev.close();
  }
}

describe('invariant checker', () => {
  const task = (step: string, recovery: number, status: string, skipped = false) => ({
    step,
    sequence: '1',
    recovery,
    status,
    skipped,
  });
  const call = (s: string, r: number) => ({ s, q: '1', r });

  it('accepts a step rerun after a kill that lost its success, and skipped afterwards', () => {
    expect(
      checkInvariants({
        expected: ['a/1'],
        tasks: [task('a', 0, 'active'), task('a', 1, 'success'), task('a', 2, 'success', true)],
        executions: [call('a', 0), call('a', 1)],
        finalRecovery: 2,
      }),
    ).toEqual([]);
  });

  it('flags a step called again after its success was committed, and a success recorded twice', () => {
    expect(
      checkInvariants({
        expected: ['a/1'],
        tasks: [task('a', 0, 'success'), task('a', 1, 'success')],
        executions: [call('a', 0), call('a', 1)],
        finalRecovery: 1,
      }),
    ).toEqual(['a/1: its success is recorded 2 times (recoveries 0, 1)']);
    expect(
      checkInvariants({
        expected: ['a/1'],
        tasks: [task('a', 0, 'success'), task('a', 1, 'success', true)],
        executions: [call('a', 0), call('a', 1)],
        finalRecovery: 1,
      }),
    ).toEqual([
      'a/1: called in recovery 1, where its task is success (skipped): a step may only be called once its task is committed as active',
      'a/1: called again in recovery 1 after its success was committed in recovery 0',
    ]);
  });

  it('with continue, accepts a call cut short and run again in the same recovery, but not a call after the commit', () => {
    const committed = { ...task('a', 0, 'success'), updatedAt: 1_000 };
    const calls = [
      { s: 'a', q: '1', r: 0, pid: 11, t: 900 },
      { s: 'a', q: '1', r: 0, pid: 12, t: 990 },
    ];
    const input = { expected: ['a/1'], tasks: [committed], finalRecovery: 0, continued: true };
    expect(checkInvariants({ ...input, executions: calls })).toEqual([]);
    expect(
      checkInvariants({ ...input, executions: [...calls, { s: 'a', q: '1', r: 0, pid: 13, t: 1_005 }] }),
    ).toEqual(['a/1: called at 1005 in recovery 0, after its success was committed (1000)']);
    expect(checkInvariants({ ...input, continued: false, executions: calls })).toEqual([
      'a/1: called 2 times in recovery 0, the one that committed its success',
    ]);
  });

  it('flags a lost step, a call without a committed task, and work the flow does not have', () => {
    expect(
      checkInvariants({
        expected: ['a/1', 'b/1'],
        tasks: [task('a', 0, 'success'), task('x', 0, 'success')],
        executions: [call('a', 0), call('b', 0)],
        finalRecovery: 0,
      }),
    ).toEqual([
      'x/1: a task in recovery 0 that the flow does not have',
      'b/1: not a success at the end (recovery 0: no task)',
      'b/1: its success is recorded 0 times (recoveries none)',
      'b/1: called in recovery 0, where its task is missing: a step may only be called once its task is committed as active',
    ]);
  });
});

describe('crash-point harness', () => {
  // Each seed draws a flow and where to kill it (after or inside the N-th commit, inside the K-th
  // step call, at a random time, while opening the store; sometimes again in the recoveries), then
  // recovers here with the public API and checks every invariant (see fixtures-reliability).
  it.concurrent.each(CI_SEEDS)(
    'seed %i: a run killed at its seeded point and recovered keeps every crash invariant',
    async (seed) => {
      const report = await runSeed(seed, { lib });
      expect(report.failures, explain(report)).toEqual([]);
    },
    90_000,
  );
});

describe.concurrent('kill at every commit', () => {
  // s1 -> s2 (async); s3 (async); s4 when s2 and s3 succeeded; s5 30 ms after s4; in two sequences
  const small = flowSpec(
    'sweep',
    [
      { name: 's1', kind: 'sync', sleepMs: 0, start: root },
      { name: 's2', kind: 'async', sleepMs: 5, start: after('s1') },
      { name: 's3', kind: 'async', sleepMs: 2, start: root },
      {
        name: 's4',
        kind: 'sync',
        sleepMs: 0,
        start: { type: 'join', expr: { op: 'list', items: [{ ev: 's2' }, { ev: 's3' }] } },
      },
      { name: 's5', kind: 'sync', sleepMs: 0, start: after('s4', 30) },
    ],
    { sequences: ['1', '2'] },
  );

  it.each(['after', 'inside'] as const)(
    'recovers a run killed %s each of its committed transactions in turn, up to the last',
    async (kind) => {
      const reports = await sweep(small, kind);
      const finished = reports.findIndex((report) => report.attempts[0]?.outcome === 'finished');
      // every transaction before the run's end was hit by a kill
      expect(reports.slice(0, finished).map((report) => report.attempts[0]?.outcome)).toEqual(
        Array(finished).fill('killed'),
      );
      expect(finished).toBeGreaterThanOrEqual(4);
      for (const report of reports) expect(report.failures, explain(report)).toEqual([]);
    },
    120_000,
  );
});

describe.concurrent('a pass that batches many changes', () => {
  const fanOut = (runId: string, kind: 'sync' | 'async', extra: Partial<FlowSpec> = {}) =>
    flowSpec(runId, [{ name: 's1', kind: 'sync', sleepMs: 0, start: root }], {
      fan: { from: 's1', count: 200, kind, sleepMs: kind === 'async' ? 2 : 0 },
      ...extra,
    });

  it('commits the 200 tasks of a fan-out in one pass or not at all, whichever transaction the kill hits', async () => {
    const reports = await sweep(fanOut('fan', 'sync'), 'inside');
    for (const report of reports) expect(report.failures, explain(report)).toEqual([]);
    // the fan tasks the killed process had committed: none, or all 200 (never part of them)
    const committed = reports
      .filter((report) => report.attempts[0]?.outcome === 'killed')
      .map((report) => report.rows?.tasks.filter((t) => t.recovery === 0 && /^f\d+$/.test(t.step)).length);
    expect(committed).toContain(0);
    expect(committed).toContain(200);
    expect(committed.filter((count) => count !== 0 && count !== 200)).toEqual([]);
  }, 120_000);

  it('recovers a fan-out killed while its steps run: committed successes are skipped, the others run once', async () => {
    // a cap of 20 runs the 200 steps in waves; the kill comes inside the 120th call
    const report = await runScenario(
      fanOut('fan-calls', 'async', { maxConcurrent: 20 }),
      [{ kind: 'call', at: 120 }],
      {
        lib,
      },
    );
    expect(report.failures, explain(report)).toEqual([]);
    expect(report.attempts[0]?.outcome).toBe('killed');
    const final = (report.tasks ?? []).filter((t) => t.recovery === 1 && /^f\d+$/.test(t.step));
    const skipped = final.filter((t) => t.skipped).length;
    expect(skipped).toBeGreaterThan(0);
    expect(skipped).toBeLessThan(120);
    const rerun = (report.executions ?? []).filter((c) => c.r === 1 && /^f\d+$/.test(c.s)).length;
    expect(rerun).toBe(200 - skipped);
  }, 60_000);

  it('recovers a fan-out whose recovery was killed inside the pass that skips its 200 steps', async () => {
    // the first run dies inside fan_end (call 202: s1, f001..f200, fan_end); its recovery commits
    // the 201 skips and fan_end in its second transaction, and dies inside it
    const report = await runScenario(
      fanOut('fan-skip', 'sync'),
      [
        { kind: 'call', at: 202 },
        { kind: 'inside', at: 2 },
      ],
      { lib },
    );
    expect(report.failures, explain(report)).toEqual([]);
    expect(report.attempts.map((a) => a.outcome)).toEqual(['killed', 'killed', 'success']);
    const final = (report.tasks ?? []).filter((t) => t.recovery === 2);
    expect(final.filter((t) => t.skipped)).toHaveLength(201);
    expect(final.filter((t) => !t.skipped).map((t) => t.step)).toEqual(['fan_end']);
  }, 60_000);
});

describe.concurrent('kills in recoveries', () => {
  it('recovers a run killed in its first run and again in each of two recoveries', async () => {
    const spec = flowSpec(
      'again',
      [
        { name: 's1', kind: 'async', sleepMs: 3, start: root },
        { name: 's2', kind: 'sync', sleepMs: 0, start: after('s1') },
        { name: 's3', kind: 'async', sleepMs: 3, start: after('s2') },
        {
          name: 's4',
          kind: 'async',
          sleepMs: 3,
          start: { type: 'join', expr: { op: 'or', items: [{ ev: 's2' }, { ev: 's3' }] } },
        },
        { name: 's5', kind: 'sync', sleepMs: 0, start: after('s4') },
      ],
      { sequences: ['1', '2', '3'] },
    );
    const plan: Kill[] = [
      { kind: 'after', at: 4 },
      { kind: 'inside', at: 3 },
      { kind: 'call', at: 3 },
    ];
    const report = await runScenario(spec, plan, { lib });
    expect(report.failures, explain(report)).toEqual([]);
    expect(report.attempts.map((a) => a.outcome)).toEqual(['killed', 'killed', 'killed', 'success']);
    expect(Math.max(...(report.tasks ?? []).map((t) => t.recovery))).toBe(3);
  }, 60_000);
});

describe.concurrent('worker, process and command steps killed with their engine', () => {
  const withStep = (runId: string, step: Omit<StepSpec, 'start'>): FlowSpec =>
    flowSpec(runId, [
      { name: 's1', kind: 'sync', sleepMs: 0, start: root },
      { ...step, start: after('s1') },
      { name: 's3', kind: 'sync', sleepMs: 0, start: after(step.name) },
    ]);

  it('reruns a worker step that was running when its engine was killed, once, and what followed it', async (context) => {
    const spec = withStep('worker', { name: 'w', kind: 'worker', sleepMs: 0, firstRunMs: 30_000 });
    const killed = await killWhileRunning(context, spec, 'w');
    expect(killed.child.killed).toBe(true);
    const { result, tasks, executions, failures, integrity } = await recoverHere(
      spec,
      killed.dir,
      killed.store,
    );
    expect(failures).toEqual([]);
    expect(integrity).toBe('ok');
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(tasks.filter((t) => t.step === 'w').map((t) => `${t.recovery}:${t.status}`)).toEqual([
      '0:active',
      '1:success',
    ]);
    expect(executions.filter((c) => c.s === 'w').map((c) => c.r)).toEqual([0, 1]);
  }, 30_000);

  it('ends the child of a process step soon after its engine is killed, without touching the store; recovery reruns it', async (context) => {
    const spec = withStep('process', { name: 'p', kind: 'process', sleepMs: 0, firstRunMs: 30_000 });
    const killed = await killWhileRunning(context, spec, 'p');
    expect(killed.child.killed).toBe(true);
    const orphan = killed.call?.pid as number;
    expect(orphan).not.toBe(killed.child.pid);
    // its IPC channel closes with the engine: the step's signal aborts and the child exits within ~1 s
    expect(await waitFor(() => !pidAlive(orphan), 5_000)).toBe(true);
    expect(await storeDigest(killed.store)).toBe(killed.digest);
    const { result, tasks, failures, integrity } = await recoverHere(spec, killed.dir, killed.store);
    expect(failures).toEqual([]);
    expect(integrity).toBe('ok');
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(tasks.filter((t) => t.step === 'p').map((t) => `${t.recovery}:${t.status}`)).toEqual([
      '0:active',
      '1:success',
    ]);
  }, 30_000);

  it('leaves the store untouched by a command its killed engine orphaned, which may run on to its end; recovery reruns it once', async (context) => {
    const dir = tempDir(context);
    const doneFile = join(dir, 'done.log');
    const spec = withStep('command', {
      name: 'c',
      kind: 'command',
      sleepMs: 0,
      firstRunMs: 2_500,
      doneFile,
    });
    const killed = await killWhileRunning(context, spec, 'c');
    expect(killed.child.killed).toBe(true);
    const orphan = killed.call?.pid as number;
    // a silent command does not notice that its engine is gone: nothing stops it (SIGKILL runs no exit hook)
    const ended = await waitFor(() => !pidAlive(orphan), 8_000);
    expect(ended).toBe(true);
    expect(await storeDigest(killed.store)).toBe(killed.digest);
    const rows = await readStore(killed.store, spec.runId);
    expect(rows?.integrity).toBe('ok');
    // its exit was never recorded: the task stays as the killed engine left it
    expect(rows?.tasks.filter((t) => t.step === 'c').map((t) => t.status)).toEqual(['active']);
    const { result, tasks, failures } = await recoverHere(spec, killed.dir, killed.store);
    expect(failures).toEqual([]);
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(tasks.filter((t) => t.step === 'c' && t.status === 'success')).toHaveLength(1);
  }, 30_000);

  it('ends a command that writes output soon after its engine is killed (its output pipe is gone)', async (context) => {
    const dir = tempDir(context);
    const doneFile = join(dir, 'done.log');
    const spec = withStep('chatty', {
      name: 'c',
      kind: 'command',
      sleepMs: 0,
      firstRunMs: 20_000,
      chatty: true,
      doneFile,
    });
    const killed = await killWhileRunning(context, spec, 'c');
    expect(killed.child.killed).toBe(true);
    const orphan = killed.call?.pid as number;
    expect(await waitFor(() => !pidAlive(orphan), 3_000)).toBe(true);
    expect(existsSync(doneFile)).toBe(false);
    expect(await storeDigest(killed.store)).toBe(killed.digest);
  }, 30_000);
});

describe.concurrent('active trigger of a step that recovery skips', () => {
  it('reruns a step started by another step going active, when that step succeeded before the kill and is skipped', async () => {
    // p succeeds in 20 ms; w, started by p's active trigger, is still running when the engine dies.
    // The recovery skips p, and must still fire p's active trigger so that w runs again (it did not
    // before 0150909: a skipped task fired only its success triggers, and the recovery ended
    // "success" without w).
    const spec = flowSpec('active-start', [
      { name: 'p', kind: 'async', sleepMs: 20, start: root },
      { name: 'w', kind: 'async', sleepMs: 0, firstRunMs: 30_000, start: { type: 'active', parent: 'p' } },
    ]);
    const report = await runScenario(spec, [{ kind: 'time', ms: 600 }], { lib });
    expect(report.attempts[0]?.outcome).toBe('killed');
    expect(report.failures, explain(report)).toEqual([]);
  }, 30_000);
});

describe.concurrent('triggers fired from inside a step', () => {
  it('reruns a step started by an event that another step fired from its body, when that step succeeded before the kill and is skipped', async () => {
    // p calls triggerEvent(pulled_p) as it returns; w starts on pulled_p and is still running (it is
    // the second call, where the child dies) once p's end and its trigger are committed. Expected:
    // the recovery skips p and w runs again, since pulled_p fired before the crash. Actual: a
    // skipped step's body does not run, so pulled_p never fires in the recovery, w never starts,
    // and the recovery ends "success" without it.
    const spec = flowSpec('pulled-start', [
      { name: 'p', kind: 'sync', sleepMs: 0, start: root },
      { name: 'w', kind: 'async', sleepMs: 0, firstRunMs: 30_000, start: { type: 'pulled', parent: 'p' } },
    ]);
    const report = await runScenario(spec, [{ kind: 'call', at: 2 }], { lib });
    expect(report.attempts[0]?.outcome).toBe('killed');
    expect(report.failures, explain(report)).toEqual([]);
  }, 30_000);
});

describe.concurrent('limits of recovery after a kill', () => {
  it('refuses to recover a killed run whose lease names another host: it cannot tell whether that process is gone', async (context) => {
    const spec = flowSpec('other-host', [
      { name: 's1', kind: 'sync', sleepMs: 0, start: root },
      { name: 's2', kind: 'async', sleepMs: 0, firstRunMs: 30_000, start: after('s1') },
    ]);
    const killed = await killWhileRunning(context, spec, 's2');
    expect(killed.child.killed).toBe(true);
    // what the row would say had the killed engine run on another machine sharing the store
    await storeSql(
      killed.store,
      "UPDATE runs SET lease_host = 'another-host.example' WHERE id = ?",
      spec.runId,
    );
    const ev = new lib.Eventor({
      name: 'reliability',
      store: killed.store,
      runMode: 'recover',
      logLevel: 'silent',
    });
    let error: unknown;
    try {
      void ev.runId; // looks the run up and takes its lease
    } catch (caught) {
      error = caught;
    } finally {
      ev.close();
    }
    expect(error).toBeInstanceOf(lib.StoreError);
    expect(error).toMatchObject({ code: 'FLOW_STORE_IN_USE' });
    expect((error as Error).message).toContain('another-host.example');
  }, 30_000);
});

// Not concurrent with the rest: the recovery runs in this process, and the due times are checked
// against when it calls the step, so nothing else should hold this process's event loop meanwhile.
describe('delays across a kill', () => {
  // s1 -> s2 after a delay; s1 -> k, whose call kills the child: by then the pass that stored the
  // delay (and created k) is committed, whatever the parent's timers are doing
  const delayed = (runId: string, delayMs: number) =>
    flowSpec(runId, [
      { name: 's1', kind: 'sync', sleepMs: 0, start: root },
      { name: 's2', kind: 'sync', sleepMs: 0, start: after('s1', delayMs) },
      { name: 'k', kind: 'sync', sleepMs: 0, start: after('s1') },
    ]);
  const killInK: Kill[] = [{ kind: 'call', at: 2 }];

  it('fires a delay that was pending when the engine was killed at its original due time, once', async () => {
    const report = await runScenario(delayed('delay-pending', 2_000), killInK, {
      lib,
      pauseMs: 1_500,
    });
    expect(report.failures, explain(report)).toEqual([]);
    expect(report.attempts[0]?.outcome).toBe('killed');
    const delays = report.rows?.delays ?? [];
    expect(delays.map((d) => [d.recovery, d.fired])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    const due = delays[0]?.dueAt as number;
    expect(delays[1]?.dueAt).toBe(due);
    const calls = (report.executions ?? []).filter((c) => c.s === 's2');
    expect(calls).toHaveLength(1);
    const at = calls[0]?.t as number;
    // a delay restarted by the recovery would fire 2 s after it began, well after the original due time
    expect(report.recoveredAt).toBeLessThan(due);
    expect((report.recoveredAt as number) + 2_000 - due).toBeGreaterThan(1_200);
    expect(at).toBeGreaterThanOrEqual(due);
    expect(at - due).toBeLessThan(800);
  }, 30_000);

  it('fires a delay whose due time passed while the engine was down as soon as the recovery starts', async () => {
    const report = await runScenario(delayed('delay-overdue', 1_200), killInK, {
      lib,
      pauseMs: 1_500,
    });
    expect(report.failures, explain(report)).toEqual([]);
    expect(report.attempts[0]?.outcome).toBe('killed');
    const due = report.rows?.delays[0]?.dueAt as number;
    expect(report.recoveredAt).toBeGreaterThan(due);
    const calls = (report.executions ?? []).filter((c) => c.s === 's2');
    expect(calls).toHaveLength(1);
    expect((calls[0]?.t as number) - (report.recoveredAt as number)).toBeLessThan(900);
  }, 30_000);
});
