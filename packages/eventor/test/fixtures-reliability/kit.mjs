// The generic half of the crash harness, shared by the eventor and sequent crash tests and by
// scripts/crash.mjs: a seeded random source, a child runner that kills at a chosen point, a
// read-only look into a store (a file's PRAGMA integrity_check included), and the invariant checker.
// The store of a scenario is a SQLite file, or with FLOW_TEST_STORE=postgres a Postgres schema in
// the database FLOW_TEST_STORE_URL names (the `*-postgres` test projects set both).
// Plain JS, so a script can use it without a TypeScript loader.
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dropStore, freshStore } from '../helpers/test-store.mjs';

// better-sqlite3 and pg are eventor's own dependencies: resolve them from the package, never from the workspace root.
const requireFromEventor = createRequire(new URL('../../package.json', import.meta.url));
const Database = requireFromEventor('better-sqlite3');
const pg = requireFromEventor('pg');

const POSTGRES_URL = /^postgres(?:ql)?:/i;

/** A fresh store for a scenario in `dir`: `dir/flow.run.db`, or a new Postgres schema (see above). */
export function scenarioStore(dir) {
  return freshStore(dir).store;
}

export { dropStore };

/** Runs `work(client, schema)` on a connection of its own to the store's database. */
async function withPostgres(store, work) {
  const url = new URL(store);
  const schema = url.searchParams.get('schema') ?? 'flow';
  url.searchParams.delete('schema');
  const client = new pg.Client({
    connectionString: url.toString(),
    options: `-c search_path=${schema}`,
    // bigint (times) as numbers, as SQLite gives them
    types: { getTypeParser: (oid, format) => (oid === 20 ? Number : pg.types.getTypeParser(oid, format)) },
  });
  await client.connect();
  try {
    return await work(client, schema);
  } finally {
    await client.end();
  }
}

/** A small seeded generator (mulberry32 over a mixed seed): the same seed always draws the same. */
export function rng(seed) {
  let state = mix(seed);
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    /** `n` distinct items of `list`, in list order. */
    sample: (list, n) => {
      const indexes = list.map((_, i) => i);
      for (let i = indexes.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [indexes[i], indexes[j]] = [indexes[j], indexes[i]];
      }
      return indexes
        .slice(0, n)
        .sort((a, b) => a - b)
        .map((i) => list[i]);
    },
  };
}

function mix(seed) {
  let h = (Number(seed) ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Appends one execution record (a JSON line) for a step call; O_APPEND keeps lines whole across processes. */
export function recordExecution(file, record) {
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

/** Execution records `{ s, q, r, pid, t }` written by every step call, in any process. */
export function readExecutions(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

/**
 * Forks `script` with `args` and lets it run until it exits or is killed:
 * - `env.FLOW_FAULT_KILL` (after:N / inside:N) makes the engine kill itself at a commit;
 * - `killAfterRunningMs`: SIGKILL that long after the child sends `{ type: 'running' }`;
 * - `killAfterSpawnMs`: SIGKILL that long after the fork (it may land while the store opens);
 * - `killWhen`: SIGKILL as soon as this function returns true (polled every 20 ms once running).
 * Resolves once the child is gone (reaped), with how it ended, its stderr and its messages.
 */
export function runChild(script, args, options = {}) {
  const { env = {}, killAfterRunningMs, killAfterSpawnMs, killWhen, timeoutMs = 60_000 } = options;
  const childEnv = { ...process.env };
  delete childEnv.FLOW_FAULT_KILL;
  delete childEnv.FLOW_CRASH_AT_CALL;
  return new Promise((resolve) => {
    const child = fork(script, args, {
      execArgv: [],
      env: { ...childEnv, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    let hung = false;
    let killTimer;
    let poll;
    const messages = [];
    child.stderr.on('data', (chunk) => {
      stderr += chunk.toString();
    });
    child.on('message', (message) => {
      messages.push(message);
      if (message?.type === 'running' && killAfterRunningMs !== undefined)
        killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterRunningMs);
      if (message?.type === 'running' && killWhen !== undefined) {
        poll = setInterval(() => {
          if (killWhen()) {
            clearInterval(poll);
            child.kill('SIGKILL');
          }
        }, 20);
      }
    });
    child.on('error', () => {}); // a send to a dead child; 'exit' reports the end
    if (killAfterSpawnMs !== undefined) killTimer = setTimeout(() => child.kill('SIGKILL'), killAfterSpawnMs);
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(killTimer);
      clearInterval(poll);
      clearTimeout(guard);
      resolve({
        pid: child.pid,
        code,
        signal,
        killed: signal === 'SIGKILL' && !hung,
        hung,
        stderr,
        messages,
      });
    });
  });
}

/** `after:N` or `inside:N` (the engine's commit hook), `call:K`, `time:Tms`, `early:Tms`. */
export function describeKill(kill) {
  return kill.kind === 'time' || kill.kind === 'early'
    ? `${kill.kind}:${kill.ms}ms`
    : `${kill.kind}:${kill.at}`;
}

/**
 * Runs one child per kill of `plan`, each killed at its point: `after:N` / `inside:N` through
 * FLOW_FAULT_KILL, `call:K` through FLOW_CRASH_AT_CALL (the child kills itself in its K-th step call),
 * `time` that long after the child starts its run, `early` that long after the fork (while it opens
 * the store). Each child restarts the run when the store has none yet, else recovers it (or
 * continues it, when the kill says `mode: 'continue'`). After each
 * child, the store must be sound (a file passes `PRAGMA integrity_check`). Appends to `report.attempts` and
 * `report.failures`; resolves false when a child failed on its own (the report says why).
 */
export async function runKillPlan({ plan, childScript, childArgs, store, runId, report }) {
  for (const kill of plan) {
    const before = await readStore(store, runId);
    const runMode = before?.run ? (kill.mode ?? 'recover') : 'restart';
    const env = {};
    const options = { env };
    if (kill.kind === 'after' || kill.kind === 'inside') env.FLOW_FAULT_KILL = `${kill.kind}:${kill.at}`;
    else if (kill.kind === 'call') env.FLOW_CRASH_AT_CALL = String(kill.at);
    else if (kill.kind === 'time') options.killAfterRunningMs = kill.ms;
    else options.killAfterSpawnMs = kill.ms;
    const child = await runChild(childScript, childArgs(runMode), options);
    const outcome = child.killed ? 'killed' : child.code === 0 ? 'finished' : 'error';
    report.attempts.push({ runMode, kill: describeKill(kill), outcome });
    if (outcome === 'error') {
      const stderr = child.stderr.trim().split('\n').slice(-6).join(' | ');
      report.failures.push(
        `child (${runMode}, ${describeKill(kill)}) ${child.hung ? 'hung' : `exited with code ${child.code}`}: ${stderr}`,
      );
      return false;
    }
    const after = await readStore(store, runId);
    if (after && after.integrity !== 'ok')
      report.failures.push(
        `integrity_check after the ${runMode} child (${describeKill(kill)}): ${after.integrity}`,
      );
  }
  return true;
}

export function withTimeout(promise, ms, message) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The run's rows in the store, and how sound the store is ('ok' when it is): a file is opened
 * read-only and runs `PRAGMA integrity_check`; a Postgres schema must have its tables (the server
 * keeps its own pages sound). Undefined when there is no store yet (no file, no schema).
 */
export async function readStore(store, runId) {
  if (POSTGRES_URL.test(store)) return readPostgres(store, runId);
  if (!existsSync(store)) return undefined;
  const db = new Database(store, { readonly: true, fileMustExist: true });
  try {
    const integrity = db
      .pragma('integrity_check')
      .map((row) => row.integrity_check)
      .join('; ');
    const tables = new Set(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all());
    if (!tables.has('runs') || !tables.has('tasks'))
      return { integrity, run: undefined, tasks: [], triggers: [], delays: [] };
    const read = (sql) => db.prepare(sql).all(runId);
    return rowsOf(integrity, read(RUN_SQL)[0], read(TASKS_SQL), read(TRIGGERS_SQL), read(DELAYS_SQL));
  } finally {
    db.close();
  }
}

const RUN_SQL =
  'SELECT id, recovery, status, lease_pid AS "leasePid", lease_token AS "leaseToken" FROM runs WHERE id = ?';
const TASKS_SQL =
  'SELECT step, sequence, recovery, status, skipped, attempts FROM tasks WHERE run_id = ? ORDER BY recovery, ord';
const TRIGGERS_SQL = 'SELECT event, sequence, recovery, acted FROM triggers WHERE run_id = ? ORDER BY ord';
const DELAYS_SQL =
  'SELECT assoc, sequence, recovery, due_at AS "dueAt", fired FROM delays WHERE run_id = ? ORDER BY id';

function rowsOf(integrity, run, tasks, triggers, delays) {
  return {
    integrity,
    run,
    tasks: tasks.map((row) => ({ ...row, skipped: row.skipped === 1 })),
    triggers,
    delays,
  };
}

async function readPostgres(store, runId) {
  return withPostgres(store, async (client, schema) => {
    const found = await client.query(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
      [schema],
    );
    if (found.rows.length === 0) return undefined;
    const tables = new Set(found.rows.map((row) => row.name));
    const missing = ['runs', 'tasks', 'triggers', 'delays', 'run_shapes'].filter((name) => !tables.has(name));
    const integrity = missing.length === 0 ? 'ok' : `missing table(s) ${missing.join(', ')}`;
    if (!tables.has('runs') || !tables.has('tasks'))
      return { integrity, run: undefined, tasks: [], triggers: [], delays: [] };
    const read = async (sql) => (await client.query(sql.replace('?', '$1'), [runId])).rows;
    return rowsOf(
      integrity,
      (await read(RUN_SQL))[0],
      await read(TASKS_SQL),
      await read(TRIGGERS_SQL),
      await read(DELAYS_SQL),
    );
  });
}

/**
 * A digest of everything the store holds, to tell whether anyone wrote to it: the bytes of a file
 * and its WAL, or every row of a Postgres schema's tables.
 */
export async function storeDigest(store) {
  const hash = createHash('sha256');
  if (!POSTGRES_URL.test(store)) {
    for (const file of [store, `${store}-wal`]) hash.update(existsSync(file) ? readFileSync(file) : 'none');
    return hash.digest('hex');
  }
  await withPostgres(store, async (client) => {
    for (const table of ['runs', 'run_shapes', 'tasks', 'triggers', 'delays']) {
      const rows = await client.query(`SELECT to_jsonb(t)::text AS row FROM ${table} t ORDER BY 1`);
      hash.update(`${table}:${rows.rows.map((row) => row.row).join('\n')}`);
    }
  });
  return hash.digest('hex');
}

const BEGUN = new Set(['active', 'success', 'failure']);

/**
 * The crash invariants over a whole run (every recovery), for the steps whose executions are
 * recorded. `expected` lists `step/sequence` of every task the flow must have succeeded by the end;
 * `tasks` are the run's task records (step, sequence, recovery, status, skipped, updatedAt);
 * `executions` the recorded calls `{ s, q, r, a, pid, t }` (a: attempt); `finalRecovery` the recovery that finished
 * the run. For each expected task, with r* the recovery whose (not skipped) success was committed:
 * - it succeeded in the final recovery; its success (not skipped) is recorded exactly once (in r*);
 * - it was called at least once in r*, never after r*, at most once by any one process (per attempt:
 *   a retried step is called once per attempt, and only its last attempt counts as its call in r*);
 * - exactly once in r*, unless `continued` (a `continue` after a kill goes on in the same recovery,
 *   where the call the kill cut short runs again): then no call in r* after its success was committed;
 * - before r* it never succeeded; after r* every task of it is a skipped success;
 * - a call in recovery r has a task committed as begun (active or later) in r, never a skipped one.
 * No task and no call exists outside `expected`. Returns failure messages (empty when all hold).
 */
export function checkInvariants({ expected, tasks, executions, finalRecovery, continued = false }) {
  const failures = [];
  const expectedSet = new Set(expected);
  const rows = new Map();
  for (const task of tasks) {
    const key = `${task.step}/${task.sequence}`;
    if (!expectedSet.has(key)) {
      failures.push(`${key}: a task in recovery ${task.recovery} that the flow does not have`);
      continue;
    }
    const byRecovery = rows.get(key) ?? new Map();
    if (byRecovery.has(task.recovery)) failures.push(`${key}: two task rows in recovery ${task.recovery}`);
    byRecovery.set(task.recovery, task);
    rows.set(key, byRecovery);
  }
  const calls = new Map();
  for (const call of executions) {
    const key = `${call.s}/${call.q}`;
    if (!expectedSet.has(key)) {
      failures.push(`${key}: called in recovery ${call.r}, but the flow has no such task`);
      continue;
    }
    const list = calls.get(key) ?? [];
    list.push(call);
    calls.set(key, list);
  }
  for (const key of expected) {
    const byRecovery = rows.get(key) ?? new Map();
    const keyCalls = calls.get(key) ?? [];
    const final = byRecovery.get(finalRecovery);
    if (final?.status !== 'success') {
      failures.push(
        `${key}: not a success at the end (recovery ${finalRecovery}: ${final ? final.status : 'no task'})`,
      );
    }
    const committed = [...byRecovery.values()].filter((t) => t.status === 'success' && !t.skipped);
    if (committed.length !== 1) {
      failures.push(
        `${key}: its success is recorded ${committed.length} times (recoveries ${committed.map((t) => t.recovery).join(', ') || 'none'})`,
      );
    }
    const perRecovery = new Map();
    const perProcess = new Map();
    for (const call of keyCalls) {
      const process = `${call.r}/${call.pid}/${call.a ?? 1}`;
      perProcess.set(process, (perProcess.get(process) ?? 0) + 1);
    }
    for (const [process, count] of perProcess) {
      if (count > 1)
        failures.push(`${key}: called ${count} times by one process (recovery/pid/attempt ${process})`);
    }
    // a retried step is called once per attempt; the attempt that succeeded is the one that counts
    const successCalls = keyCalls.filter((call) => {
      const task = byRecovery.get(call.r);
      return call.a === undefined || task?.status !== 'success' || task.skipped || call.a === task.attempts;
    });
    for (const call of successCalls) perRecovery.set(call.r, (perRecovery.get(call.r) ?? 0) + 1);
    for (const call of keyCalls) {
      // committed as begun (active, or back to ready for a retry after a failed attempt), with at
      // least this attempt, and not skipped
      const task = byRecovery.get(call.r);
      const begun =
        task !== undefined &&
        !task.skipped &&
        (BEGUN.has(task.status) || task.attempts > 0) &&
        (call.a === undefined || task.attempts >= call.a);
      if (!begun) {
        const state = task ? `${task.status}${task.skipped ? ' (skipped)' : ''}` : 'missing';
        failures.push(
          `${key}: called in recovery ${call.r}${call.a === undefined ? '' : ` (attempt ${call.a})`}, where its task is ${state}: ` +
            'a step may only be called once its task is committed as active',
        );
      }
    }
    const star = committed.length === 1 ? committed[0].recovery : undefined;
    if (star === undefined) continue;
    const inStar = perRecovery.get(star) ?? 0;
    if (continued ? inStar < 1 : inStar !== 1)
      failures.push(`${key}: called ${inStar} times in recovery ${star}, the one that committed its success`);
    const beyond = keyCalls.filter(
      (call) => call.r === star && call.a !== undefined && call.a > committed[0].attempts,
    );
    if (beyond.length > 0)
      failures.push(
        `${key}: called in attempt ${beyond[0].a} after its success in attempt ${committed[0].attempts}`,
      );
    const committedAt = committed[0].updatedAt === undefined ? undefined : Number(committed[0].updatedAt);
    const afterCommit = keyCalls.filter((call) => call.r === star && call.t > committedAt);
    if (committedAt !== undefined && afterCommit.length > 0) {
      failures.push(
        `${key}: called at ${afterCommit.map((call) => call.t).join(', ')} in recovery ${star}, after its success was committed (${committedAt})`,
      );
    }
    const later = keyCalls.filter((call) => call.r > star).map((call) => call.r);
    if (later.length > 0) {
      failures.push(
        `${key}: called again in recovery ${later.join(', ')} after its success was committed in recovery ${star}`,
      );
    }
    for (const [recovery, task] of byRecovery) {
      if (recovery < star && task.status === 'success')
        failures.push(`${key}: a success in recovery ${recovery}, before the one committed in ${star}`);
      if (recovery > star && !(task.status === 'success' && task.skipped)) {
        failures.push(
          `${key}: in recovery ${recovery}, after its success was committed in ${star}, its task is ${task.status}${task.skipped ? ' (skipped)' : ' (not skipped)'}`,
        );
      }
    }
  }
  return failures;
}

/** `count` failures at most, one per line, for a readable report. */
export function summarize(failures, count = 12) {
  const shown = failures.slice(0, count);
  if (failures.length > count) shown.push(`... and ${failures.length - count} more`);
  return shown.join('\n');
}
