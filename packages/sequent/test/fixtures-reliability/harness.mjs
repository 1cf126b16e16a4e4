// The crash-point harness for sequent flows with nested repeats: an outer container `c` of 2-3
// iterations holds an inner container `d` of 2-3 iterations with leaves `a`, then `b` (requires a,
// sometimes after a delay) and sometimes `x` (no requires); `c_e` follows each inner loop and
// `after` the whole outer loop. A seed draws the sizes, the leaves' kinds (sync, async, sometimes
// worker/process/command) and where the child running the flow (on the BUILT packages) is killed;
// the parent recovers last with the `lib` it passes and checks the invariants over the leaf tasks.
// The generic pieces (child runner, store reader, invariant checker) are eventor's.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkInvariants,
  dropStore,
  readExecutions,
  readStore,
  recordExecution,
  rng,
  runKillPlan,
  scenarioStore,
  withTimeout,
} from '../../../eventor/test/fixtures-reliability/kit.mjs';

export const CHILD_SCRIPT = fileURLToPath(new URL('./child.mjs', import.meta.url));
const STEPS_MODULE = new URL('../../../eventor/test/fixtures-reliability/steps.mjs', import.meta.url);
const COMMAND_SCRIPT = fileURLToPath(
  new URL('../../../eventor/test/fixtures-reliability/command.mjs', import.meta.url),
);
export const EXECUTIONS = 'executions.jsonl';
const KINDS = ['after', 'inside', 'call', 'time'];

/** The flow a seed draws (plain data, so the child builds the same one). */
export function makeSpec(seed) {
  const r = rng(seed);
  const constructs = r.chance(0.25);
  const kind = () =>
    constructs && r.chance(0.3) ? r.pick(['worker', 'process', 'command']) : r.pick(['sync', 'async']);
  const leaf = () => {
    const k = kind();
    return { kind: k, sleepMs: k === 'sync' ? 0 : r.int(0, 15) };
  };
  return {
    seed,
    runId: `sequent-crash-${seed}`,
    outer: r.int(2, 3),
    inner: r.int(2, 3),
    leaves: { a: leaf(), b: leaf(), e: leaf(), after: leaf(), ...(r.chance(0.4) ? { x: leaf() } : {}) },
    bDelayMs: r.chance(0.25) ? r.int(10, 60) : 0,
  };
}

/** `path/sequence` of every leaf task the flow must have succeeded once it is done. */
export function expectedTasks(spec) {
  const out = [];
  for (let i = 1; i <= spec.outer; i++) {
    for (let j = 1; j <= spec.inner; j++) {
      for (const leaf of ['a', 'b', 'x']) if (spec.leaves[leaf]) out.push(`c_d_${leaf}/1.${i}.${j}`);
    }
    out.push(`c_e/1.${i}`);
  }
  out.push('after/1');
  return out;
}

const range = (n) => Array.from({ length: n }, (_, i) => i + 1);

/**
 * Builds the spec's flow on `lib` (sequent src or dist). Every leaf call appends `{ s, q, r, pid, t }`
 * to `<dir>/executions.jsonl`; `onCall` runs after an inline leaf recorded its call.
 */
export function buildFlow(lib, spec, { store, dir, runMode = 'restart', onCall }) {
  const log = join(dir, EXECUTIONS);
  const flow = new lib.Sequent({
    name: 'reliability',
    store,
    runMode,
    runId: spec.runId,
    logLevel: 'silent',
  });
  const record = () => {
    const step = lib.currentStep();
    recordExecution(log, {
      s: step.name,
      q: step.sequence,
      r: step.recovery,
      pid: process.pid,
      t: Date.now(),
    });
    onCall?.();
  };
  const options = (leaf) => leafOptions(lib, spec.leaves[leaf], record, log);
  const ok = lib.StepStatus.success;
  const c = flow.addStep('c', { repeats: range(spec.outer) });
  const d = c.addStep('d', { repeats: range(spec.inner) });
  const a = d.addStep('a', options('a'));
  d.addStep('b', {
    ...options('b'),
    requires: [[a, ok]],
    ...(spec.bDelayMs > 0 ? { delay: spec.bDelayMs } : {}),
  });
  if (spec.leaves.x) d.addStep('x', options('x'));
  c.addStep('e', { ...options('e'), requires: [[d, ok]] });
  flow.addStep('after', { ...options('after'), requires: [[c, ok]] });
  return flow;
}

function leafOptions(lib, leaf, record, log) {
  switch (leaf.kind) {
    case 'sync':
      return { func: () => record() };
    case 'async':
      return {
        func: async () => {
          record();
          const ms = leaf.sleepMs + (lib.currentStep().recovery === 0 ? (leaf.firstRunMs ?? 0) : 0);
          if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
        },
      };
    case 'worker':
    case 'process':
      return {
        module: STEPS_MODULE,
        export: 'record',
        args: [log, leaf.sleepMs, leaf.firstRunMs ?? 0],
        config: { taskConstruct: leaf.kind },
      };
    case 'command':
      return {
        command: [
          process.execPath,
          COMMAND_SCRIPT,
          log,
          String(leaf.sleepMs),
          'SEQUENT_',
          String(leaf.firstRunMs ?? 0),
        ],
      };
    default:
      throw new Error(`unknown leaf kind ${leaf.kind}`);
  }
}

/** Where each child is killed; the first kill's kind rotates with the seed. */
export function makePlan(seed, spec) {
  const r = rng(seed * 104729 + 3);
  const tasks = expectedTasks(spec);
  const kindOf = (key) => spec.leaves[key.slice(0, key.indexOf('/')).split('_').at(-1)].kind;
  const inline = tasks.filter((key) => ['sync', 'async'].includes(kindOf(key))).length;
  const slow = inline < tasks.length;
  // a run commits about 1.4 transactions per leaf task (bookkeeping included) plus a few
  const kill = (kind) => {
    if (kind === 'after' || kind === 'inside')
      return { kind, at: r.int(1, 4 + Math.round(tasks.length * 1.4)) };
    if (kind === 'call') return { kind, at: r.int(1, Math.max(1, inline)) };
    return { kind: 'time', ms: r.int(0, 60 + tasks.length * 8 + (slow ? 1500 : 0)) };
  };
  const plan = [kill(KINDS[seed % KINDS.length])];
  if (r.chance(0.35)) plan.push({ ...kill(r.pick(KINDS)), ...(r.chance(0.25) ? { mode: 'continue' } : {}) });
  return plan;
}

/** How the parent takes up the killed run at the end: mostly recover, sometimes continue. */
export function finalMode(seed) {
  return rng(seed * 31 + 7).chance(0.2) ? 'continue' : 'recover';
}

function describeSpec(spec) {
  const kinds = [...new Set(Object.values(spec.leaves).map((leaf) => leaf.kind))].join('/');
  return `${spec.outer} x ${spec.inner} iterations, leaves ${Object.keys(spec.leaves).join(',')} (${kinds})${spec.bDelayMs > 0 ? `, b delayed ${spec.bDelayMs} ms` : ''}`;
}

export function runSeed(seed, options) {
  const spec = makeSpec(seed);
  return runScenario(spec, makePlan(seed, spec), { finalMode: finalMode(seed), ...options });
}

/**
 * Runs `spec` in children killed as `plan` says, recovers here with `lib`, checks the invariants over
 * the leaf tasks, and recovers once more (which must call nothing). As eventor's runScenario;
 * `finalMode: 'continue'` takes the run up with continue instead of recover.
 */
export async function runScenario(
  spec,
  plan,
  { lib, root = tmpdir(), keep = false, keepOnFailure = false, finalMode = 'recover' },
) {
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, `flow-sequent-crash-${spec.seed}-`));
  const specPath = join(dir, 'spec.json');
  const store = scenarioStore(dir);
  writeFileSync(specPath, JSON.stringify(spec));
  const report = { seed: spec.seed, flow: describeSpec(spec), dir, attempts: [], failures: [] };
  const fail = (message) => report.failures.push(message);
  try {
    const ok = await runKillPlan({
      plan,
      childScript: CHILD_SCRIPT,
      childArgs: (runMode) => [specPath, store, dir, runMode],
      store,
      runId: spec.runId,
      report,
    });
    if (!ok) return report;
    const runMode = (await readStore(store, spec.runId))?.run ? finalMode : 'restart';
    const flow = buildFlow(lib, spec, { store, dir, runMode });
    let result;
    let pending;
    let tasks;
    try {
      result = await withTimeout(flow.run(), 60_000, 'the final recovery did not finish within 60 s');
      pending = flow.pending();
      tasks = flow.tasks();
    } finally {
      flow.close();
    }
    report.attempts.push({ runMode, kill: 'none (parent)', outcome: result.status });
    if (!result.ok || result.status !== 'success') fail(`final ${runMode}: ended ${result.status}`);
    if (pending.count !== 0) fail(`final ${runMode}: pending().count is ${pending.count} after the run`);
    const executions = readExecutions(join(dir, EXECUTIONS));
    report.tasks = tasks;
    report.executions = executions;
    for (const failure of checkInvariants({
      expected: expectedTasks(spec),
      tasks,
      executions,
      finalRecovery: result.recovery,
      continued: report.attempts.some((attempt) => attempt.runMode === 'continue'),
    }))
      fail(failure);
    const rows = await readStore(store, spec.runId);
    if (rows.integrity !== 'ok') fail(`integrity_check after the final ${runMode}: ${rows.integrity}`);
    if (rows.run?.leasePid !== null) fail(`the run still holds a lease (pid ${rows.run?.leasePid})`);

    const again = buildFlow(lib, spec, { store, dir, runMode: 'recover' });
    try {
      const second = await withTimeout(again.run(), 30_000, 'the extra recover did not finish within 30 s');
      if (!second.ok || second.status !== 'success') fail(`extra recover: ended ${second.status}`);
      const notSkipped = again
        .tasks({ recovery: second.recovery })
        .filter((task) => !task.skipped)
        .map((task) => `${task.step}/${task.sequence}`);
      if (notSkipped.length > 0)
        fail(`extra recover: leaf tasks not skipped: ${notSkipped.slice(0, 5).join(', ')}`);
    } finally {
      again.close();
    }
    const extra = readExecutions(join(dir, EXECUTIONS)).slice(executions.length);
    if (extra.length > 0) fail(`extra recover called ${extra.length} leaf step(s)`);
    return report;
  } catch (error) {
    fail(`harness error: ${error?.stack ?? error}`);
    return report;
  } finally {
    if (!keep && !(keepOnFailure && report.failures.length > 0)) {
      rmSync(dir, { recursive: true, force: true });
      await dropStore(store).catch(() => {});
    }
  }
}
