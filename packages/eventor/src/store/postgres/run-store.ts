import type { Pool, QueryConfig } from 'pg';
import { FAULT_KILL, withFaultKillAsync } from '../fault.js';
import {
  type Changes,
  type EarlierTask,
  keyOf,
  type LeaseHolder,
  type RunSnapshot,
  type RunStore,
  type TaskRow,
} from '../types.js';
import { commitQuery } from './commit-sql.js';
import { TASK_COLUMNS } from './queries.js';
import { withRetry } from './retry.js';
import { fromDb, taskFromDb, toDb, toDbOrNull } from './text.js';

interface RunStoreParts {
  connections: () => Promise<Pool>;
  runId: string;
  recovery: number;
  holder: LeaseHolder;
  /** A driver or server failure as the StoreError to throw (`retriedMs`: how long it was tried again). */
  failed: (error: unknown, retriedMs: number) => unknown;
  /** The error of a commit whose fence found the lease another holder's. */
  leaseLost: () => unknown;
}

/**
 * One run's loop on PostgreSQL: one read (`load`, one statement), then one statement per pass
 * (`commit`), each first proving in the same statement that the lease is still its own. Its calls
 * run one after another in the order they were made, as a file store's do. A lost connection is
 * tried again for up to the lease's ttl: every statement here may run twice (see commit-sql.ts).
 */
export class PostgresRunStore implements RunStore {
  private readonly parts: RunStoreParts;
  /** The run's id as the database holds it (see text.ts). */
  private readonly runId: string;
  private lastTriggerOrd = 0;
  /** The run's highest task `ord` so far: how big the run is, for commit-sql.ts's generations. */
  private lastTaskOrd = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(parts: RunStoreParts) {
    this.parts = parts;
    this.runId = toDb(parts.runId);
  }

  /** Runs `work` after every call made before it, again while the connection is lost; failures become StoreError. */
  private run<T>(work: (pool: Pool) => Promise<T>): Promise<T> {
    const windowMs = this.parts.holder.ttlMs;
    const next = this.tail.then(() =>
      withRetry(async () => work(await this.parts.connections()), windowMs).catch((error: unknown) => {
        throw this.parts.failed(error, windowMs);
      }),
    );
    this.tail = next.catch(() => {});
    return next;
  }

  load(): Promise<RunSnapshot> {
    return this.run(async (pool) => {
      const result = await pool.query({
        name: 'flow_load',
        text: LOAD_SQL,
        values: [this.runId, this.parts.recovery],
      });
      return this.snapshot(result.rows[0] as LoadRow);
    });
  }

  private snapshot(row: LoadRow): RunSnapshot {
    const { recovery } = this.parts;
    const fired = new Set<string>();
    const unacted: RunSnapshot['unacted'] = [];
    for (const [storedEvent, storedSequence, acted] of row.triggers) {
      const event = fromDb(storedEvent);
      const sequence = fromDb(storedSequence);
      fired.add(keyOf(sequence, event));
      if (acted === 0) unacted.push({ event, sequence });
    }
    const tasks = new Set<string>();
    for (const [step, sequence] of row.task_keys) tasks.add(keyOf(fromDb(step), fromDb(sequence)));
    const delayDue = new Map<string, number>();
    const delaysHere = new Set<string>();
    const pendingDelays: RunSnapshot['pendingDelays'] = [];
    for (const [storedAssoc, storedSequence, delayRecovery, dueAt, delayFired] of row.delays) {
      const assoc = fromDb(storedAssoc);
      const sequence = fromDb(storedSequence);
      const key = keyOf(assoc, sequence);
      if (!delayDue.has(key)) delayDue.set(key, dueAt);
      if (delayRecovery !== recovery) continue;
      delaysHere.add(key);
      if (delayFired === 0) pendingDelays.push({ assoc, sequence, dueAt });
    }
    pendingDelays.sort((a, b) => a.dueAt - b.dueAt);
    const earlier = new Map<string, EarlierTask>();
    for (const [ord, step, sequence, status, attempts, taskRecovery] of row.earlier)
      earlier.set(keyOf(fromDb(step), fromDb(sequence)), { ord, status, attempts, recovery: taskRecovery });
    const firedByBodies = new Map<string, Array<{ event: string; sequence: string }>>();
    for (const [event, sequence, bodyRecovery, sourceStep, sourceSequence] of row.fired_by_bodies) {
      const key = keyOf(bodyRecovery, fromDb(sourceStep), fromDb(sourceSequence));
      const fired = { event: fromDb(event), sequence: fromDb(sequence) };
      const list = firedByBodies.get(key);
      if (list === undefined) firedByBodies.set(key, [fired]);
      else list.push(fired);
    }
    this.lastTriggerOrd = row.max_trigger_ord ?? 0;
    this.lastTaskOrd = row.max_task_ord ?? 0;
    return {
      fired,
      unacted,
      tasks,
      unfinished: row.unfinished.map((task) =>
        taskFromDb({
          ...task,
          resultV8: task.resultV8 === null ? null : Buffer.from(task.resultV8, 'base64'),
        }),
      ),
      failed: row.failed.map(([step, sequence]) => ({ step: fromDb(step), sequence: fromDb(sequence) })),
      nextTaskOrd: (row.max_task_ord ?? 0) + 1,
      delayDue,
      delaysHere,
      pendingDelays,
      earlier,
      firedByBodies,
    };
  }

  commit(changes: Changes): Promise<void> {
    const { runId } = this;
    const { recovery, holder } = this.parts;
    const inserted: unknown[] = [];
    const updated: unknown[] = [];
    for (const t of changes.tasks) {
      if (t.ord > this.lastTaskOrd) this.lastTaskOrd = t.ord;
      const result = t.result === null ? null : t.result.toString('base64');
      if (t.insert) {
        inserted.push({
          ord: t.ord,
          step: toDb(t.step),
          sequence: toDb(t.sequence),
          status: t.status,
          attempts: t.attempts,
          result,
          error: t.error,
          skipped: t.skipped ? 1 : 0,
          result_from: t.resultFrom ?? null,
        });
      } else {
        updated.push({
          ord: t.ord,
          step: toDb(t.step),
          sequence: toDb(t.sequence),
          status: t.status,
          attempts: t.attempts,
          result,
          error: t.error,
        });
      }
    }
    let lastTriggerOrd = this.lastTriggerOrd;
    const triggers = changes.triggers.map((t) => ({
      sequence: toDb(t.sequence),
      event: toDb(t.event),
      ord: ++lastTriggerOrd,
      acted: t.acted ? 1 : 0,
      source_step: toDbOrNull(t.source?.step),
      source_sequence: toDbOrNull(t.source?.sequence),
    }));
    const delays = changes.delays.map((d) => ({
      assoc: toDb(d.assoc),
      sequence: toDb(d.sequence),
      due_at: d.dueAt,
      fired: d.fired ? 1 : 0,
    }));
    const query = commitQuery(
      [runId, holder.token, changes.now + holder.ttlMs, recovery, changes.now],
      {
        newTasks: inserted,
        changedTasks: updated,
        newTriggers: triggers,
        actedTriggers: changes.acted.map((t) => ({ event: toDb(t.event), sequence: toDb(t.sequence) })),
        newDelays: delays,
        firedDelays: changes.firedDelays.map((d) => ({ assoc: toDb(d.assoc), sequence: toDb(d.sequence) })),
      },
      this.lastTaskOrd,
    );
    return this.run(async (pool) => {
      const held = await withFaultKillAsync((inside) => this.fenced(pool, query, inside));
      if (!held) throw this.parts.leaseLost();
      this.lastTriggerOrd = lastTriggerOrd;
    });
  }

  /**
   * One fenced statement (its first parameter the run, its second the lease token); false when the
   * lease is another holder's. Under FLOW_FAULT_KILL (crash tests) it runs in a transaction of its
   * own, so that `inside` can kill the process after the statement and before the commit.
   */
  private async fenced(pool: Pool, query: QueryConfig, inside: () => void): Promise<boolean> {
    if (FAULT_KILL === undefined) return ((await pool.query(query)).rows[0] as { held: number }).held === 1;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const held = ((await client.query(query)).rows[0] as { held: number }).held === 1;
      inside();
      await client.query('COMMIT');
      return held;
    } finally {
      client.release();
    }
  }

  setTaskChild(task: { ord: number; child: string }): Promise<void> {
    const { runId } = this;
    const { holder } = this.parts;
    return this.run(async (pool) => {
      const held = await withFaultKillAsync((inside) =>
        this.fenced(
          pool,
          { text: SET_CHILD_SQL, values: [runId, holder.token, task.child, task.ord] },
          inside,
        ),
      );
      if (!held) throw this.parts.leaseLost();
    });
  }

  clearTaskChild(task: { ord: number; pid?: number | undefined }): Promise<void> {
    const { runId } = this;
    return this.run(async (pool) => {
      if (task.pid === undefined) {
        await pool.query({
          text: 'UPDATE tasks SET child = NULL WHERE run_id = $1 AND ord = $2',
          values: [runId, task.ord],
        });
        return;
      }
      // only child `pid`'s record: read it, then clear it unless it changed meanwhile
      const found = await pool.query({
        text: 'SELECT child FROM tasks WHERE run_id = $1 AND ord = $2 AND child IS NOT NULL',
        values: [runId, task.ord],
      });
      const child = (found.rows[0] as { child: string } | undefined)?.child;
      if (child === undefined || childPid(child) !== task.pid) return;
      await pool.query({
        text: 'UPDATE tasks SET child = NULL WHERE run_id = $1 AND ord = $2 AND child = $3',
        values: [runId, task.ord, child],
      });
    });
  }

  tasksWithChild(): Promise<Array<{ ord: number; step: string; sequence: string; child: string }>> {
    return this.run(async (pool) => {
      const result = await pool.query({
        text: `SELECT ord, step, sequence, child FROM tasks
               WHERE run_id = $1 AND child IS NOT NULL AND status <> 'success' ORDER BY ord`,
        values: [this.runId],
      });
      return (result.rows as Array<{ ord: number; step: string; sequence: string; child: string }>).map(
        (row) => ({ ...row, step: fromDb(row.step), sequence: fromDb(row.sequence) }),
      );
    });
  }

  setOpenFrom(ord: number): Promise<void> {
    return this.run(async (pool) => {
      await pool.query({
        text: 'UPDATE runs SET open_from = greatest(open_from, $1) WHERE id = $2',
        values: [ord, this.runId],
      });
    });
  }
}

function childPid(child: string): number | undefined {
  try {
    const pid = (JSON.parse(child) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

interface LoadRow {
  triggers: Array<[event: string, sequence: string, acted: number]>;
  task_keys: Array<[step: string, sequence: string]>;
  delays: Array<[assoc: string, sequence: string, recovery: number, dueAt: number, fired: number]>;
  earlier: Array<
    [
      ord: number,
      step: string,
      sequence: string,
      status: EarlierTask['status'],
      attempts: number,
      recovery: number,
    ]
  >;
  fired_by_bodies: Array<
    [event: string, sequence: string, recovery: number, sourceStep: string, sourceSequence: string]
  >;
  unfinished: Array<Omit<TaskRow, 'resultV8'> & { resultV8: string | null }>;
  failed: Array<[step: string, sequence: string]>;
  max_task_ord: number | null;
  max_trigger_ord: number | null;
}

/** A task's child, recorded only while the lease is still this holder's. */
const SET_CHILD_SQL = `WITH fence AS (SELECT 1 FROM runs WHERE id = $1 AND lease_token = $2 AND lease_pid IS NOT NULL),
  changed AS (UPDATE tasks SET child = $3 WHERE run_id = $1 AND ord = $4 AND EXISTS (SELECT 1 FROM fence))
  SELECT count(*)::int AS held FROM fence`;

/** Everything a run loop starts from, in one statement: one round trip, one snapshot. */
const LOAD_SQL = `SELECT
  (SELECT coalesce(json_agg(json_build_array(event, sequence, acted) ORDER BY ord), '[]')
     FROM triggers WHERE run_id = $1 AND recovery = $2) AS triggers,
  (SELECT coalesce(json_agg(json_build_array(step, sequence)), '[]')
     FROM tasks WHERE run_id = $1 AND recovery = $2) AS task_keys,
  (SELECT coalesce(json_agg(json_build_array(assoc, sequence, recovery, due_at, fired) ORDER BY recovery, id), '[]')
     FROM delays WHERE run_id = $1) AS delays,
  (SELECT coalesce(json_agg(json_build_array(ord, step, sequence, status, attempts, recovery) ORDER BY recovery, ord), '[]')
     FROM tasks WHERE run_id = $1 AND recovery < $2) AS earlier,
  (SELECT coalesce(json_agg(json_build_array(event, sequence, recovery, source_step, source_sequence) ORDER BY ord), '[]')
     FROM triggers WHERE run_id = $1 AND source_step IS NOT NULL AND recovery < $2) AS fired_by_bodies,
  (SELECT coalesce(json_agg(u ORDER BY u.ord), '[]') FROM (
     SELECT ${TASK_COLUMNS.replace('result_v8 AS "resultV8"', `encode(result_v8, 'base64') AS "resultV8"`)}
     FROM tasks WHERE run_id = $1 AND ord >= (SELECT open_from FROM runs WHERE id = $1)
       AND recovery = $2 AND status NOT IN ('success', 'failure')) u) AS unfinished,
  (SELECT coalesce(json_agg(json_build_array(step, sequence) ORDER BY ord), '[]')
     FROM tasks WHERE run_id = $1 AND recovery = $2 AND status = 'failure') AS failed,
  (SELECT max(ord) FROM tasks WHERE run_id = $1) AS max_task_ord,
  (SELECT max(ord) FROM triggers WHERE run_id = $1) AS max_trigger_ord`;
