import type Database from 'better-sqlite3';
import {
  type Changes,
  type EarlierTask,
  keyOf,
  type RunSnapshot,
  type RunStore,
  type TaskRow,
} from '../types.js';

interface RunStoreParts {
  sqlite: Database.Database;
  transaction: <T>(fn: () => T) => T;
  /** A call outside a transaction, with SQLite's failures as StoreError. */
  guard: <T>(fn: () => T) => T;
  /** Throws when the run's lease is no longer this holder's; renews it to `now` + ttl when given. */
  /** Throws leaseLostError unless this holder still holds the run; called inside each write transaction. */
  fence: () => void;
  runId: string;
  recovery: number;
}

/**
 * One run's loop on a SQLite file: it reads the run once (`load`) and then only writes, one
 * transaction per pass, each first proving the lease is still its own.
 */
export class SqliteRunStore implements RunStore {
  private readonly runId: string;
  private readonly recovery: number;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  private lastTriggerOrd = 0;

  constructor(private readonly parts: RunStoreParts) {
    this.runId = parts.runId;
    this.recovery = parts.recovery;
    this.stmt = prepareStatements(parts.sqlite);
  }

  load(): RunSnapshot {
    return this.parts.guard(() => this.read());
  }

  private read(): RunSnapshot {
    const { runId, recovery, stmt } = this;
    const fired = new Set<string>();
    const unacted: RunSnapshot['unacted'] = [];
    for (const row of stmt.triggersOfRecovery.iterate(runId, recovery) as Iterable<TriggerLoadRow>) {
      fired.add(keyOf(row.sequence, row.event));
      if (row.acted === 0) unacted.push({ event: row.event, sequence: row.sequence });
    }
    const tasks = new Set<string>();
    for (const row of stmt.tasksOfRecovery.iterate(runId, recovery) as Iterable<TaskKeyRow>)
      tasks.add(keyOf(row.step, row.sequence));
    const delayDue = new Map<string, number>();
    const delaysHere = new Set<string>();
    const pendingDelays: RunSnapshot['pendingDelays'] = [];
    for (const row of stmt.delaysOfRun.iterate(runId) as Iterable<DelayLoadRow>) {
      const key = keyOf(row.assoc, row.sequence);
      if (!delayDue.has(key)) delayDue.set(key, row.dueAt);
      if (row.recovery !== recovery) continue;
      delaysHere.add(key);
      if (row.fired === 0) pendingDelays.push({ assoc: row.assoc, sequence: row.sequence, dueAt: row.dueAt });
    }
    pendingDelays.sort((a, b) => a.dueAt - b.dueAt);
    const earlier = new Map<string, EarlierTask>();
    const firedByBodies = new Map<string, Array<{ event: string; sequence: string }>>();
    if (recovery > 0) {
      for (const row of stmt.earlierTasks.iterate(runId, recovery) as Iterable<EarlierRow>)
        earlier.set(keyOf(row.step, row.sequence), row);
      for (const row of stmt.firedByBodies.iterate(runId, recovery) as Iterable<BodyFiredRow>) {
        const key = keyOf(row.recovery, row.sourceStep, row.sourceSequence);
        const list = firedByBodies.get(key);
        if (list === undefined) firedByBodies.set(key, [{ event: row.event, sequence: row.sequence }]);
        else list.push({ event: row.event, sequence: row.sequence });
      }
    }
    this.lastTriggerOrd = (stmt.maxTriggerOrd.get(runId) as number | null) ?? 0;
    return {
      fired,
      unacted,
      tasks,
      unfinished: stmt.unfinishedTasks.all({ runId, recovery }) as TaskRow[],
      failed: stmt.failedTasks.all(runId, recovery) as Array<{ step: string; sequence: string }>,
      nextTaskOrd: ((stmt.maxTaskOrd.get(runId) as number | null) ?? 0) + 1,
      delayDue,
      delaysHere,
      pendingDelays,
      earlier,
      firedByBodies,
    };
  }

  commit(changes: Changes): void {
    const { runId, recovery, stmt } = this;
    const now = changes.now;
    let lastTriggerOrd = this.lastTriggerOrd;
    this.parts.transaction(() => {
      this.parts.fence();
      for (const t of changes.tasks) {
        if (t.insert) {
          stmt.insertTask.run(
            runId,
            t.step,
            t.sequence,
            recovery,
            t.ord,
            t.status,
            t.attempts,
            t.result,
            t.error,
            t.skipped ? 1 : 0,
            now,
            now,
          );
          if (t.resultFrom !== undefined) stmt.copyResult.run(runId, t.resultFrom, runId, t.ord);
        } else {
          stmt.updateTask.run(t.status, t.attempts, t.result, t.error, now, runId, t.ord);
        }
      }
      for (const t of changes.triggers) {
        lastTriggerOrd += 1;
        stmt.insertTrigger.run(
          runId,
          recovery,
          t.sequence,
          t.event,
          lastTriggerOrd,
          t.acted ? 1 : 0,
          now,
          t.source?.step ?? null,
          t.source?.sequence ?? null,
        );
      }
      for (const t of changes.acted) stmt.markTriggerActed.run(runId, recovery, t.sequence, t.event);
      for (const d of changes.delays)
        stmt.insertDelay.run(runId, recovery, d.assoc, d.sequence, d.dueAt, d.fired ? 1 : 0, now);
      for (const d of changes.firedDelays) stmt.markDelayFired.run(runId, recovery, d.assoc, d.sequence);
    });
    this.lastTriggerOrd = lastTriggerOrd;
  }

  setTaskChild(task: { ord: number; child: string }): void {
    this.parts.transaction(() => {
      this.parts.fence();
      this.stmt.setTaskChild.run(task.child, this.runId, task.ord);
    });
  }

  clearTaskChild(task: { ord: number; pid?: number | undefined }): void {
    this.parts.guard(() => {
      if (task.pid === undefined) this.stmt.clearAnyTaskChild.run(this.runId, task.ord);
      else this.stmt.clearTaskChild.run(this.runId, task.ord, task.pid);
    });
  }

  tasksWithChild(): Array<{ ord: number; step: string; sequence: string; child: string }> {
    return this.parts.guard(() => this.stmt.tasksWithChild.all(this.runId)) as Array<{
      ord: number;
      step: string;
      sequence: string;
      child: string;
    }>;
  }

  setOpenFrom(ord: number): void {
    this.parts.guard(() => this.stmt.setOpenFrom.run(ord, this.runId));
  }
}

interface TriggerLoadRow {
  event: string;
  sequence: string;
  acted: number;
}
interface TaskKeyRow {
  step: string;
  sequence: string;
}
interface DelayLoadRow {
  assoc: string;
  sequence: string;
  recovery: number;
  dueAt: number;
  fired: number;
}
interface EarlierRow extends EarlierTask {
  step: string;
  sequence: string;
}
interface BodyFiredRow {
  event: string;
  sequence: string;
  recovery: number;
  sourceStep: string;
  sourceSequence: string;
}

function prepareStatements(db: Database.Database) {
  return {
    triggersOfRecovery: db.prepare(
      'SELECT event, sequence, acted FROM triggers WHERE run_id = ? AND recovery = ? ORDER BY ord',
    ),
    tasksOfRecovery: db.prepare('SELECT step, sequence FROM tasks WHERE run_id = ? AND recovery = ?'),
    delaysOfRun: db.prepare(
      'SELECT assoc, sequence, recovery, due_at AS dueAt, fired FROM delays WHERE run_id = ? ORDER BY recovery, id',
    ),
    earlierTasks: db.prepare(
      'SELECT ord, step, sequence, status, attempts, recovery FROM tasks WHERE run_id = ? AND recovery < ? ORDER BY recovery, ord',
    ),
    firedByBodies: db.prepare(
      `SELECT event, sequence, recovery, source_step AS sourceStep, source_sequence AS sourceSequence
       FROM triggers WHERE run_id = ? AND source_step IS NOT NULL AND recovery < ? ORDER BY ord`,
    ),
    maxTaskOrd: db.prepare('SELECT max(ord) FROM tasks WHERE run_id = ?').pluck(),
    maxTriggerOrd: db.prepare('SELECT max(ord) FROM triggers WHERE run_id = ?').pluck(),
    unfinishedTasks: db.prepare(
      `SELECT run_id AS runId, recovery, step, sequence, ord, status, attempts, result, result_v8 AS resultV8, error, skipped,
              created_at AS createdAt, updated_at AS updatedAt, child
       FROM tasks WHERE run_id = @runId AND ord >= (SELECT open_from FROM runs WHERE id = @runId)
         AND recovery = @recovery AND status NOT IN ('success', 'failure') ORDER BY ord`,
    ),
    failedTasks: db.prepare(
      `SELECT step, sequence FROM tasks WHERE run_id = ? AND recovery = ? AND status = 'failure' ORDER BY ord`,
    ),
    insertTask: db.prepare(
      `INSERT INTO tasks (run_id, step, sequence, recovery, ord, status, attempts, result_v8, error, skipped, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    copyResult: db.prepare(
      `UPDATE tasks SET (result, result_v8) = (SELECT result, result_v8 FROM tasks WHERE run_id = ? AND ord = ?)
       WHERE run_id = ? AND ord = ?`,
    ),
    updateTask: db.prepare(
      'UPDATE tasks SET status = ?, attempts = ?, result_v8 = ?, error = ?, updated_at = ? WHERE run_id = ? AND ord = ?',
    ),
    insertTrigger: db.prepare(
      `INSERT INTO triggers (run_id, recovery, sequence, event, ord, acted, created_at, source_step, source_sequence)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    markTriggerActed: db.prepare(
      'UPDATE triggers SET acted = 1 WHERE run_id = ? AND recovery = ? AND sequence = ? AND event = ?',
    ),
    insertDelay: db.prepare(
      'INSERT INTO delays (run_id, recovery, assoc, sequence, due_at, fired, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    markDelayFired: db.prepare(
      'UPDATE delays SET fired = 1 WHERE run_id = ? AND recovery = ? AND assoc = ? AND sequence = ?',
    ),
    setOpenFrom: db.prepare('UPDATE runs SET open_from = max(open_from, ?) WHERE id = ?'),
    setTaskChild: db.prepare('UPDATE tasks SET child = ? WHERE run_id = ? AND ord = ?'),
    clearTaskChild: db.prepare(
      "UPDATE tasks SET child = NULL WHERE run_id = ? AND ord = ? AND json_valid(child) AND json_extract(child, '$.pid') = ?",
    ),
    clearAnyTaskChild: db.prepare('UPDATE tasks SET child = NULL WHERE run_id = ? AND ord = ?'),
    tasksWithChild: db.prepare(
      `SELECT ord, step, sequence, child FROM tasks INDEXED BY tasks_child_idx
       WHERE run_id = ? AND child IS NOT NULL AND status <> 'success' ORDER BY ord`,
    ),
  };
}
