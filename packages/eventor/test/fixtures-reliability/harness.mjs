// The crash-point harness for eventor. A seed draws a flow (a DAG of steps joined by events,
// expressions, delays, sometimes a fan-out of up to 200 steps, a pool, a cap, worker/process/command
// steps) and a plan: a child process runs the flow and is killed at a seeded point (after or inside
// the N-th committed transaction, inside the K-th step call, at a random time, or while it opens the
// store); recoveries in children may be killed too; the parent (the caller, with the `lib` it passes:
// src in tests, dist in scripts/crash.mjs) recovers last and checks the invariants. Shared by
// test/reliability-crash.test.ts and scripts/crash.mjs; child.mjs builds the same flow from dist.
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
} from './kit.mjs';

export const CHILD_SCRIPT = fileURLToPath(new URL('./child.mjs', import.meta.url));
const STEPS_MODULE = new URL('./steps.mjs', import.meta.url);
const COMMAND_SCRIPT = fileURLToPath(new URL('./command.mjs', import.meta.url));
export const EXECUTIONS = 'executions.jsonl';
const KINDS = ['after', 'inside', 'call', 'time'];
/**
 * Steps started by another step's `active` trigger (a recovery that skips that step must still fire
 * it: reliability-crash.test.ts, "active trigger"). A switch, to tell such failures apart.
 */
const ACTIVE_STARTS = true;
/**
 * Steps started by an event another (inline) step fires from its body with `triggerEvent`; a
 * recovery that skips the firing step fires those events again (reliability-crash.test.ts,
 * "triggers fired from inside a step").
 */
const PULLED_STARTS = true;

/** The flow a seed draws: plain data (JSON), so the child builds exactly the same flow. */
export function makeSpec(seed) {
  const r = rng(seed);
  const constructs = r.chance(0.2);
  const pooled = r.chance(0.2);
  const steps = [];
  const count = r.int(3, 9);
  for (let i = 0; i < count; i++) {
    const earlier = steps.map((step) => step.name);
    let start;
    if (i === 0 || r.chance(0.12)) start = { type: 'root' };
    else if (ACTIVE_STARTS && r.chance(0.08)) start = { type: 'active', parent: r.pick(earlier) };
    else if (PULLED_STARTS && r.chance(0.08) && inlineEarlier(steps).length > 0)
      start = { type: 'pulled', parent: r.pick(inlineEarlier(steps)) };
    else if (r.chance(0.5) || earlier.length < 2) {
      start = { type: 'after', parent: r.pick(earlier), delayMs: r.chance(0.2) ? r.int(20, 150) : 0 };
    } else start = { type: 'join', expr: randomExpr(r, earlier) };
    const kind =
      constructs && r.chance(0.35)
        ? r.pick(['worker', 'process', 'command'])
        : r.pick(['sync', 'async', 'async']);
    steps.push({
      name: `s${i + 1}`,
      kind,
      sleepMs: kind === 'sync' ? 0 : r.int(0, 25),
      start,
      pool: pooled && r.chance(0.5),
      // fails its first attempt, then retries after a short backoff (a kill may land in the backoff)
      ...((kind === 'sync' || kind === 'async') && r.chance(0.12) ? { flakyBackoffMs: r.int(5, 40) } : {}),
    });
  }
  const fan = r.chance(0.2)
    ? {
        from: r.pick(steps).name,
        count: r.chance(0.5) ? 200 : r.int(20, 80),
        kind: r.pick(['sync', 'async']),
        sleepMs: r.int(0, 5),
      }
    : undefined;
  return {
    seed,
    runId: `crash-${seed}`,
    steps,
    fan,
    sequences: ['1', '2', '3'].slice(0, fan ? 1 : r.int(1, 3)),
    maxConcurrent: r.chance(0.15) ? r.int(1, 3) : -1,
    poolLimit: pooled ? r.int(1, 2) : 0,
  };
}

const inlineEarlier = (steps) =>
  steps.filter((step) => step.kind === 'sync' || step.kind === 'async').map((step) => step.name);

/** and / or / list (AND) over 2-3 of the earlier steps' done events, sometimes nested. */
function randomExpr(r, names) {
  const picked = r.sample(names, Math.min(names.length, r.int(2, 3)));
  const leaves = picked.map((name) => ({ ev: name }));
  if (leaves.length === 3 && r.chance(0.5)) {
    const [a, b, c] = leaves;
    return r.chance(0.5)
      ? { op: 'or', items: [{ op: 'list', items: [a, b] }, c] }
      : { op: 'and', items: [a, { op: 'or', items: [b, c] }] };
  }
  return { op: r.pick(['list', 'and', 'or']), items: leaves };
}

/** Every step of the spec, the fan-out's included, in definition order. */
export function allSteps(spec) {
  const steps = [...spec.steps];
  if (spec.fan) {
    const { from, count, kind, sleepMs } = spec.fan;
    for (let i = 1; i <= count; i++) {
      steps.push({ name: `f${String(i).padStart(3, '0')}`, kind, sleepMs, start: { type: 'fan', from } });
    }
    steps.push({ name: 'fan_end', kind: 'sync', sleepMs: 0, start: { type: 'fan-join' } });
  }
  return steps;
}

/** `step/sequence` of every task the flow must have succeeded once it is done. */
export function expectedTasks(spec) {
  return spec.sequences.flatMap((q) => allSteps(spec).map((step) => `${step.name}/${q}`));
}

/**
 * Builds the spec's flow on `lib` (src or dist). Every call appends `{ s, q, r, pid, t }` to
 * `<dir>/executions.jsonl`; `onCall` runs after an inline step recorded its call (the child kills
 * itself there for `call:K`). Start events are triggered in every sequence, in every mode.
 */
export function buildFlow(lib, spec, { store, dir, runMode = 'restart', onCall, logger }) {
  const log = join(dir, EXECUTIONS);
  const ev = new lib.Eventor({
    name: 'reliability',
    store,
    runMode,
    runId: spec.runId,
    ...(logger ? { logger, logLevel: 'warn' } : { logLevel: 'silent' }),
    config: spec.maxConcurrent > 0 ? { maxConcurrent: spec.maxConcurrent } : {},
  });
  const pool = spec.poolLimit > 0 ? new lib.ResourcePool('pool', { limit: spec.poolLimit }) : undefined;
  const steps = allSteps(spec);
  const start = ev.addEvent('start');
  const done = new Map(steps.map((step) => [step.name, ev.addEvent(`done_${step.name}`)]));
  const active = new Map(
    steps
      .filter((step) => step.start.type === 'active')
      .map((step) => [step.start.parent, ev.addEvent(`act_${step.start.parent}`)]),
  );
  const pulled = new Map(
    steps
      .filter((step) => step.start.type === 'pulled')
      .map((step) => [step.start.parent, ev.addEvent(`pulled_${step.start.parent}`)]),
  );
  /** A step that starts others by firing an event from its body does so as it returns. */
  const fire = (name) => {
    const event = pulled.get(name);
    if (event) ev.triggerEvent(event, lib.currentStep().sequence);
  };
  const record = (name) => {
    const current = lib.currentStep();
    recordExecution(log, {
      s: name,
      q: current.sequence,
      r: current.recovery,
      a: current.attempt,
      pid: process.pid,
      t: Date.now(),
    });
    onCall?.();
  };
  const refs = new Map();
  for (const step of steps) {
    refs.set(
      step.name,
      ev.addStep(step.name, {
        ...stepBody(lib, step, record, log, fire),
        triggers: active.has(step.name)
          ? { success: done.get(step.name), active: active.get(step.name) }
          : { success: done.get(step.name) },
        ...(step.pool && pool ? { acquires: [[pool, 1]] } : {}),
      }),
    );
  }
  const toExpr = (node) => {
    if (node.ev !== undefined) return done.get(node.ev);
    const items = node.items.map(toExpr);
    return node.op === 'list' ? items : node.op === 'and' ? lib.and(...items) : lib.or(...items);
  };
  const roots = steps.filter((step) => step.start.type === 'root').map((step) => refs.get(step.name));
  if (roots.length > 0) ev.addAssoc(start, roots);
  for (const step of steps) {
    const ref = refs.get(step.name);
    const how = step.start;
    if (how.type === 'after') {
      ev.addAssoc(done.get(how.parent), ref, how.delayMs > 0 ? { delay: how.delayMs } : {});
    } else if (how.type === 'active') {
      ev.addAssoc(active.get(how.parent), ref);
    } else if (how.type === 'pulled') {
      ev.addAssoc(pulled.get(how.parent), ref);
    } else if (how.type === 'join') {
      ev.addAssoc(ev.addEvent(`join_${step.name}`, { expr: toExpr(how.expr) }), ref);
    }
  }
  if (spec.fan) {
    const fanSteps = steps.filter((step) => step.start.type === 'fan');
    ev.addAssoc(
      done.get(spec.fan.from),
      fanSteps.map((step) => refs.get(step.name)),
    );
    const all = ev.addEvent('fan_all', { expr: fanSteps.map((step) => done.get(step.name)) });
    ev.addAssoc(all, refs.get('fan_end'));
  }
  for (const sequence of spec.sequences) ev.triggerEvent(start, sequence);
  return ev;
}

/** A flaky step fails its first attempt (of a recovery that starts it afresh) and succeeds after. */
const flaky = (lib, step) => step.flakyBackoffMs !== undefined && lib.currentStep().attempt === 1;
const retries = (step) =>
  step.flakyBackoffMs === undefined ? {} : { config: { retries: 1, backoff: step.flakyBackoffMs } };

/**
 * A spec step's options. Besides `kind` and `sleepMs`, a step may say `firstRunMs` (all but sync:
 * work that much longer in recovery 0, so a test can kill the engine meanwhile) and, for a
 * command, `chatty` (print a line every 50 ms) and `doneFile` (append its pid there when it ends).
 */
function stepBody(lib, step, record, log, fire) {
  switch (step.kind) {
    case 'sync':
      return {
        func: () => {
          record(step.name);
          if (flaky(lib, step)) throw new Error(`${step.name} fails its first attempt`);
          fire(step.name);
          return step.name;
        },
        ...retries(step),
      };
    case 'async':
      return {
        func: async () => {
          record(step.name);
          const ms = step.sleepMs + (lib.currentStep().recovery === 0 ? (step.firstRunMs ?? 0) : 0);
          if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
          if (flaky(lib, step)) throw new Error(`${step.name} fails its first attempt`);
          fire(step.name);
          return step.name;
        },
        ...retries(step),
      };
    case 'worker':
    case 'process':
      return {
        module: STEPS_MODULE,
        export: 'record',
        args: [log, step.sleepMs, step.firstRunMs ?? 0],
        config: { taskConstruct: step.kind },
      };
    case 'command':
      return {
        command: [
          process.execPath,
          COMMAND_SCRIPT,
          log,
          String(step.sleepMs),
          'EVENTOR_',
          String(step.firstRunMs ?? 0),
          step.chatty ? '1' : '0',
          ...(step.doneFile ? [step.doneFile] : []),
        ],
      };
    default:
      throw new Error(`unknown step kind ${step.kind}`);
  }
}

/** Rough sizes of a run, to draw kill points that mostly land inside it. */
function runSize(spec) {
  const tasks = spec.steps.length * spec.sequences.length;
  const fanTasks = spec.fan ? spec.fan.count : 0;
  const inline = allSteps(spec).filter((step) => step.kind === 'sync' || step.kind === 'async').length;
  const slow = spec.steps.some((step) => ['worker', 'process', 'command'].includes(step.kind));
  return {
    transactions: 3 + tasks + (spec.fan ? Math.ceil(fanTasks / 8) + 2 : 0),
    calls: Math.max(1, inline * spec.sequences.length),
    ms: 60 + tasks * 12 + (spec.fan ? fanTasks * 2 : 0) + (slow ? 800 : 0),
  };
}

/** Where each child of the seed is killed: the first one by a kind rotated by seed, so a few dozen seeds cover all. */
export function makePlan(seed, spec) {
  const r = rng(seed * 7919 + 17);
  const size = runSize(spec);
  const kill = (kind) => {
    if (kind === 'after' || kind === 'inside') return { kind, at: r.int(1, size.transactions) };
    if (kind === 'call') return { kind, at: r.int(1, size.calls) };
    if (kind === 'time') return { kind, ms: r.int(0, size.ms) };
    return { kind: 'early', ms: r.int(0, 500) };
  };
  const first = seed % 10 === 9 ? 'early' : KINDS[seed % KINDS.length];
  const plan = [kill(first)];
  const later = () => ({ ...kill(r.pick(KINDS)), ...(r.chance(0.25) ? { mode: 'continue' } : {}) });
  if (r.chance(0.4)) {
    plan.push(later());
    if (r.chance(0.4)) plan.push(later());
  }
  return plan;
}

/** How the parent takes up the killed run at the end: mostly recover, sometimes continue. */
export function finalMode(seed) {
  return rng(seed * 31 + 5).chance(0.2) ? 'continue' : 'recover';
}

function describeSpec(spec) {
  const kinds = [...new Set(spec.steps.map((step) => step.kind))].join('/');
  const parts = [`${spec.steps.length} steps (${kinds})`, `${spec.sequences.length} seq`];
  if (spec.fan) parts.push(`fan-out ${spec.fan.count}`);
  if (spec.steps.some((step) => step.start.type === 'join')) parts.push('joins');
  if (spec.steps.some((step) => step.start.delayMs > 0)) parts.push('delays');
  if (spec.steps.some((step) => step.flakyBackoffMs !== undefined)) parts.push('retries');
  if (spec.steps.some((step) => step.start.type === 'active')) parts.push('active starts');
  if (spec.steps.some((step) => step.start.type === 'pulled')) parts.push('triggers from steps');
  if (spec.poolLimit > 0) parts.push(`pool ${spec.poolLimit}`);
  if (spec.maxConcurrent > 0) parts.push(`cap ${spec.maxConcurrent}`);
  return parts.join(', ');
}

/**
 * Runs one seed end to end (its flow from `makeSpec`, its kills from `makePlan`) and checks every
 * invariant. `lib` is the eventor module the parent recovers with (src in tests, dist in the script).
 */
export function runSeed(seed, options) {
  const spec = makeSpec(seed);
  return runScenario(spec, makePlan(seed, spec), { finalMode: finalMode(seed), ...options });
}

/**
 * Runs `spec` in children killed as `plan` says, recovers in this process with `lib`, checks the
 * invariants, and recovers once more (which must run nothing). Resolves with
 * `{ seed, flow, attempts, failures, tasks, executions, rows }` (`failures` empty when all held;
 * `tasks` from the final eventor's tasks(), `rows` the store's rows at the end). The temp folder is
 * removed unless `keep` is set (or `keepOnFailure` and something failed). `pauseMs` waits between
 * the last kill and the final recovery (`report.recoveredAt` says when that one started);
 * `finalMode: 'continue'` takes the run up with continue instead of recover.
 */
export async function runScenario(
  spec,
  plan,
  { lib, root = tmpdir(), keep = false, keepOnFailure = false, pauseMs = 0, finalMode = 'recover' },
) {
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, `flow-crash-${spec.seed}-`));
  const specPath = join(dir, 'spec.json');
  const store = scenarioStore(dir);
  writeFileSync(specPath, JSON.stringify(spec));
  const report = { seed: spec.seed, flow: describeSpec(spec), dir, attempts: [], failures: [] };
  try {
    const ok = await runKillPlan({
      plan,
      childScript: CHILD_SCRIPT,
      childArgs: (runMode) => [specPath, store, dir, runMode],
      store,
      runId: spec.runId,
      report,
    });
    if (ok) {
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      await recoverAndCheck(lib, spec, store, dir, report, finalMode);
    }
    return report;
  } catch (error) {
    report.failures.push(`harness error: ${error?.stack ?? error}`);
    return report;
  } finally {
    if (!keep && !(keepOnFailure && report.failures.length > 0)) {
      rmSync(dir, { recursive: true, force: true });
      await dropStore(store).catch(() => {});
    }
  }
}

async function recoverAndCheck(lib, spec, store, dir, report, finalMode) {
  const fail = (message) => report.failures.push(message);
  const killed = await readStore(store, spec.runId);
  const runMode = killed?.run ? finalMode : 'restart';
  report.recoveredAt = Date.now();
  const ev = buildFlow(lib, spec, { store, dir, runMode });
  let result;
  let pending;
  let tasks;
  try {
    result = await withTimeout(ev.run(), 60_000, 'the final recovery did not finish within 60 s');
    pending = ev.pending();
    tasks = ev.tasks();
  } finally {
    ev.close();
  }
  report.attempts.push({ runMode, kill: 'none (parent)', outcome: result.status });
  if (!result.ok || result.status !== 'success')
    fail(`final ${runMode}: ended ${result.status} (ok ${result.ok}), expected a success`);
  if (pending.count !== 0) fail(`final ${runMode}: pending().count is ${pending.count} after the run`);
  const executions = readExecutions(join(dir, EXECUTIONS));
  report.tasks = tasks;
  report.executions = executions;
  const expected = expectedTasks(spec);
  for (const failure of checkInvariants({
    expected,
    tasks,
    executions,
    finalRecovery: result.recovery,
    continued: report.attempts.some((attempt) => attempt.runMode === 'continue'),
  }))
    fail(failure);

  const snapshot = await readStore(store, spec.runId);
  report.rows = snapshot;
  if (snapshot.integrity !== 'ok') fail(`integrity_check after the final ${runMode}: ${snapshot.integrity}`);
  if (snapshot.run?.status !== 'success') fail(`the run row says ${snapshot.run?.status}, expected success`);
  if (snapshot.run?.leasePid !== null) fail(`the run still holds a lease (pid ${snapshot.run?.leasePid})`);
  checkStoreRows(spec, snapshot, executions, fail);

  // a recover after a fully successful recovery runs nothing and is ok
  const calls = executions.length;
  const again = buildFlow(lib, spec, { store, dir, runMode: 'recover' });
  try {
    const second = await withTimeout(again.run(), 30_000, 'the extra recover did not finish within 30 s');
    if (!second.ok || second.status !== 'success') fail(`extra recover: ended ${second.status}`);
    const notSkipped = again
      .tasks({ recovery: second.recovery })
      .filter((task) => !task.skipped)
      .map((task) => `${task.step}/${task.sequence}`);
    if (notSkipped.length > 0) fail(`extra recover: tasks not skipped: ${notSkipped.slice(0, 5).join(', ')}`);
  } finally {
    again.close();
  }
  const extra = readExecutions(join(dir, EXECUTIONS)).slice(calls);
  if (extra.length > 0)
    fail(`extra recover called ${extra.length} step(s): ${extra.slice(0, 5).map((c) => `${c.s}/${c.q}`)}`);
}

/**
 * What the store rows must show besides the tasks: a success is committed with its success trigger,
 * a start with its active trigger; a fan-out's tasks are committed all in one pass or none; a delayed assoc keeps its first due time in
 * every recovery, fired in the last one, and its target was never called before that time.
 */
function checkStoreRows(spec, snapshot, executions, fail) {
  const fired = new Set(snapshot.triggers.map((t) => `${t.event}\u0000${t.sequence}\u0000${t.recovery}`));
  for (const task of snapshot.tasks) {
    if (task.status !== 'success') continue;
    if (!fired.has(`done_${task.step}\u0000${task.sequence}\u0000${task.recovery}`)) {
      fail(
        `${task.step}/${task.sequence}: success committed in recovery ${task.recovery} without its success trigger done_${task.step}`,
      );
    }
  }
  const starters = new Set(
    allSteps(spec)
      .filter((step) => step.start.type === 'active')
      .map((step) => step.start.parent),
  );
  for (const task of snapshot.tasks) {
    const begun =
      task.status === 'active' || task.status === 'failure' || (task.status === 'success' && !task.skipped);
    if (
      begun &&
      starters.has(task.step) &&
      !fired.has(`act_${task.step}\u0000${task.sequence}\u0000${task.recovery}`)
    ) {
      fail(
        `${task.step}/${task.sequence}: ${task.status} in recovery ${task.recovery} without its active trigger act_${task.step}`,
      );
    }
  }
  if (spec.fan) {
    const perRecovery = new Map();
    for (const task of snapshot.tasks) {
      if (/^f\d{3}$/.test(task.step))
        perRecovery.set(task.recovery, (perRecovery.get(task.recovery) ?? 0) + 1);
    }
    for (const [recovery, count] of perRecovery) {
      if (count !== spec.fan.count)
        fail(`fan-out: recovery ${recovery} committed ${count} of its ${spec.fan.count} tasks (all or none)`);
    }
  }
  const final = Math.max(...snapshot.tasks.map((task) => task.recovery));
  const dues = new Map();
  for (const delay of snapshot.delays) {
    const key = `${delay.assoc}\u0000${delay.sequence}`;
    const first = dues.get(key);
    if (first === undefined) dues.set(key, delay.dueAt);
    else if (first !== delay.dueAt) {
      fail(
        `delay ${delay.assoc} [${delay.sequence}]: due at ${delay.dueAt} in recovery ${delay.recovery}, first due at ${first}`,
      );
    }
    if (delay.recovery === final && delay.fired !== 1)
      fail(`delay ${delay.assoc} [${delay.sequence}]: not fired in the final recovery ${final}`);
    // the assoc key names its one target as `step:<name>` (`done_s1->step:s2`, `["done_s1","step:s2"]`)
    const named = [...delay.assoc.matchAll(/step:(\w+)/g)].map((match) => match[1]);
    const target = named.length === 1 ? named[0] : undefined;
    if (target === undefined || !allSteps(spec).some((step) => step.name === target)) {
      fail(`delay ${delay.assoc}: cannot tell which step it starts, so its due time goes unchecked`);
      continue;
    }
    for (const call of executions) {
      if (call.s === target && call.q === delay.sequence && call.t < delay.dueAt - 2) {
        fail(
          `${target}/${call.q}: called at ${call.t} in recovery ${call.r}, before its delay was due (${delay.dueAt})`,
        );
      }
    }
  }
}
