import { sql } from 'drizzle-orm';
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** One row per run; `recovery` is the current recovery number. The lease marks the live process. */
export const runs = sqliteTable(
  'runs',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    mode: text('mode').notNull(),
    recovery: integer('recovery').notNull().default(0),
    status: text('status').notNull(),
    startedAt: integer('started_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    endedAt: integer('ended_at'),
    leasePid: integer('lease_pid'),
    leaseHost: text('lease_host'),
    leaseToken: text('lease_token'),
    /** Clock time after which the holder's lease has lapsed, unless it renews it first. */
    leaseExpiresAt: integer('lease_expires_at'),
    /** Every task of this run with a lower `ord` is finished: where pending() starts reading. */
    openFrom: integer('open_from').notNull().default(0),
  },
  (t) => [
    index('runs_started_idx').on(t.startedAt),
    // recover/continue without a runId take the latest run of their own flow name
    index('runs_name_started_idx').on(t.name, t.startedAt),
  ],
);

/**
 * JSON of a run's flow shape (events, steps, assocs), for tools that draw and inspect runs, with the
 * definition changes found each time the run was taken up with a changed definition. A table of its
 * own (migration 0004 moved it out of `runs`): a large flow's shape in the run row made every update
 * of the row (status, lease renewal) rewrite it.
 */
export const runShapes = sqliteTable('run_shapes', {
  runId: text('run_id').primaryKey(),
  shape: text('shape').notNull(),
});

/**
 * An event fired in a sequence, in one recovery; `acted` once its assocs were acted on.
 * Keyed by what makes a trigger unique. Migration 0001 rebuilds this table WITHOUT ROWID (drizzle
 * cannot say so): the key is the table, so a commit writes one B-tree instead of three.
 */
export const triggers = sqliteTable(
  'triggers',
  {
    runId: text('run_id').notNull(),
    recovery: integer('recovery').notNull(),
    sequence: text('sequence').notNull(),
    event: text('event').notNull(),
    /** Firing order within the run: triggers are acted on in the order they fired. */
    ord: integer('ord').notNull(),
    acted: integer('acted').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    /** The step (and its sequence) whose body fired it with triggerEvent, so a skip can fire it again. */
    sourceStep: text('source_step'),
    sourceSequence: text('source_sequence'),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.recovery, t.sequence, t.event] }),
    index('triggers_unacted_idx').on(t.runId, t.recovery).where(sql`acted = 0`),
    // `ord` makes it covering and ordered: without it SQLite preferred the primary key (run, recovery)
    // and scanned the whole recovery's triggers for every task a recovery skips
    index('triggers_source_ord_idx')
      .on(t.runId, t.sourceStep, t.sourceSequence, t.recovery, t.ord)
      .where(sql`source_step IS NOT NULL`),
  ],
);

/**
 * A step's execution in a sequence, in one recovery. Keyed by (run, ord), the run's creation order,
 * so "oldest first" pages read in key order; (step, sequence, recovery) is unique. Rebuilt WITHOUT
 * ROWID by migration 0001. `pending()` reads from the run's `open_from` on, not the run's history:
 * an index of unfinished tasks would cost every commit of the run loop one more write.
 */
export const tasks = sqliteTable(
  'tasks',
  {
    runId: text('run_id').notNull(),
    ord: integer('ord').notNull(),
    step: text('step').notNull(),
    sequence: text('sequence').notNull(),
    recovery: integer('recovery').notNull(),
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** A result stored as JSON, by stores from before results were stored with `resultV8`; read only. */
    result: text('result'),
    /**
     * The step's result as `node:v8` serialize wrote it (Date, Map, Set, BigInt, cycles... read back
     * as they were); null when the step returned undefined or has not succeeded.
     */
    resultV8: blob('result_v8', { mode: 'buffer' }),
    error: text('error'),
    skipped: integer('skipped').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    /**
     * JSON identity (pid, host, boot id, start time) of the command or process step's child while it
     * runs, written as it starts: a recovery after the engine was killed ends that orphan first.
     */
    child: text('child'),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.ord] }),
    uniqueIndex('tasks_key_idx').on(t.runId, t.step, t.sequence, t.recovery),
    // a recovery looks for recorded children without reading the run's history; only rows with a
    // child (command and process steps) are in it, so other task writes cost nothing more
    index('tasks_child_idx').on(t.runId).where(sql`child IS NOT NULL`),
  ],
);

/** A delayed assoc waiting for its due time (ms since epoch). */
export const delays = sqliteTable(
  'delays',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: text('run_id').notNull(),
    recovery: integer('recovery').notNull(),
    assoc: text('assoc').notNull(),
    sequence: text('sequence').notNull(),
    dueAt: integer('due_at').notNull(),
    fired: integer('fired').notNull().default(0),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('delays_unique_idx').on(t.runId, t.assoc, t.sequence, t.recovery),
    index('delays_pending_idx').on(t.runId, t.recovery, t.fired, t.dueAt),
  ],
);
