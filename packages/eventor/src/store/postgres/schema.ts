/**
 * The PostgreSQL store's tables, equal in meaning to the SQLite ones (../sqlite/schema.ts says why
 * each has the key it has): the same tables, columns, keys and indexes, so one reader and one
 * engine serve both. Times are ms since epoch in `bigint`; flags stay 0/1 integers as in SQLite.
 * The tables carry no Postgres schema: the store runs its migrations and every query with
 * `search_path` set to its own (default `flow`).
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** `bytea`, as node-postgres reads and writes it: a Buffer. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

/** Milliseconds since epoch (beyond int4), read as a number. */
const millis = (name: string) => bigint(name, { mode: 'number' });

export const runs = pgTable(
  'runs',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    mode: text('mode').notNull(),
    recovery: integer('recovery').notNull().default(0),
    status: text('status').notNull(),
    startedAt: millis('started_at').notNull(),
    updatedAt: millis('updated_at').notNull(),
    endedAt: millis('ended_at'),
    leasePid: integer('lease_pid'),
    leaseHost: text('lease_host'),
    leaseToken: text('lease_token'),
    leaseExpiresAt: millis('lease_expires_at'),
    openFrom: integer('open_from').notNull().default(0),
  },
  (t) => [index('runs_started_idx').on(t.startedAt), index('runs_name_started_idx').on(t.name, t.startedAt)],
);

/** A run's flow shape, in a table of its own as for file stores (see the SQLite schema). */
export const runShapes = pgTable('run_shapes', {
  runId: text('run_id').primaryKey(),
  shape: text('shape').notNull(),
});

export const triggers = pgTable(
  'triggers',
  {
    runId: text('run_id').notNull(),
    recovery: integer('recovery').notNull(),
    sequence: text('sequence').notNull(),
    event: text('event').notNull(),
    ord: integer('ord').notNull(),
    acted: integer('acted').notNull().default(0),
    createdAt: millis('created_at').notNull(),
    sourceStep: text('source_step'),
    sourceSequence: text('source_sequence'),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.recovery, t.sequence, t.event] }),
    index('triggers_unacted_idx').on(t.runId, t.recovery).where(sql`acted = 0`),
    index('triggers_source_ord_idx')
      .on(t.runId, t.sourceStep, t.sourceSequence, t.recovery, t.ord)
      .where(sql`source_step IS NOT NULL`),
  ],
);

export const tasks = pgTable(
  'tasks',
  {
    runId: text('run_id').notNull(),
    ord: integer('ord').notNull(),
    step: text('step').notNull(),
    sequence: text('sequence').notNull(),
    recovery: integer('recovery').notNull(),
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    /** Kept so that both stores have the same columns; a PostgreSQL store never held JSON results. */
    result: text('result'),
    resultV8: bytea('result_v8'),
    error: text('error'),
    skipped: integer('skipped').notNull().default(0),
    createdAt: millis('created_at').notNull(),
    updatedAt: millis('updated_at').notNull(),
    child: text('child'),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.ord] }),
    uniqueIndex('tasks_key_idx').on(t.runId, t.step, t.sequence, t.recovery),
    index('tasks_child_idx').on(t.runId).where(sql`child IS NOT NULL`),
  ],
);

export const delays = pgTable(
  'delays',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    runId: text('run_id').notNull(),
    recovery: integer('recovery').notNull(),
    assoc: text('assoc').notNull(),
    sequence: text('sequence').notNull(),
    dueAt: millis('due_at').notNull(),
    fired: integer('fired').notNull().default(0),
    createdAt: millis('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('delays_unique_idx').on(t.runId, t.assoc, t.sequence, t.recovery),
    index('delays_pending_idx').on(t.runId, t.recovery, t.fired, t.dueAt),
  ],
);
