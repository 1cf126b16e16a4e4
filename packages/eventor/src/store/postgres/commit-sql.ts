/**
 * One pass's changes in one statement, so one round trip and one transaction: `fence` renews the
 * lease and proves it is still this holder's, and every write happens only if it did. Its
 * sub-statements see the same snapshot, not each other's rows: each touches only rows committed
 * before (an update), or adds new ones (an insert), as the run loop's batches are made. A
 * sub-statement whose rows are none is left out (a chain's pass has three of the six), so a pass
 * pays only for what it writes: one prepared statement per combination, made on first use.
 * Rows are found by key, one index probe each (a join with the JSON rows would let a fresh table's
 * stale statistics scan the run's history on every commit): a result taken from an earlier attempt
 * by a scalar subquery, and an update written as an insert of a row known to exist (the scalar
 * subquery) that ON CONFLICT turns into the update. A prepared statement's plan is made once, for
 * the tables as they are then: while a table holds a few hundred rows, PostgreSQL may probe it by
 * the run alone (tasks_key_idx, or a scan), which costs every row of the run once the run is big.
 * So the statements are prepared again each time the run's tasks double from 512 on (`generation`):
 * a plan serves a run at most twice the size it was made for, and from then on probes by key.
 * It may run twice: a commit whose connection was lost before its answer came back is sent again
 * (retry.ts), and then finds its rows there if the first one committed: a new row is not inserted
 * again (ON CONFLICT DO NOTHING), an update writes the same values, a flag is set again.
 * $1 run, $2 lease token, $3 lease expiry, $4 recovery, $5 now, then the JSON of each list written.
 */
import type { QueryConfig } from 'pg';
import { NOTIFY_CHANGE_CALL } from './queries.js';

/** The rows of one pass, as JSON-ready objects, by the sub-statement that writes them. */
export interface CommitRows {
  newTasks: unknown[];
  changedTasks: unknown[];
  newTriggers: unknown[];
  actedTriggers: unknown[];
  newDelays: unknown[];
  firedDelays: unknown[];
}

const FENCE = `fence AS (
  UPDATE runs SET lease_expires_at = $3 WHERE id = $1 AND lease_token = $2 AND lease_pid IS NOT NULL RETURNING 1
)`;

const PARTS: Array<{ rows: keyof CommitRows; sql: (json: string) => string }> = [
  {
    rows: 'newTasks',
    sql: (json) => `new_tasks AS (
  INSERT INTO tasks (run_id, step, sequence, recovery, ord, status, attempts, result, result_v8, error, skipped,
                     created_at, updated_at)
  SELECT $1, t.step, t.sequence, $4, t.ord, t.status, t.attempts,
         CASE WHEN t.result_from IS NOT NULL
              THEN (SELECT s.result FROM tasks s WHERE s.run_id = $1 AND s.ord = t.result_from) END,
         CASE WHEN t.result_from IS NULL THEN decode(t.result, 'base64')
              ELSE (SELECT s.result_v8 FROM tasks s WHERE s.run_id = $1 AND s.ord = t.result_from) END,
         t.error, t.skipped, $5, $5
  FROM json_to_recordset(${json}::json) AS t(ord int, step text, sequence text, status text, attempts int,
                                        result text, error text, skipped int, result_from int)
  WHERE EXISTS (SELECT 1 FROM fence)
  ON CONFLICT DO NOTHING
)`,
  },
  {
    rows: 'changedTasks',
    sql: (json) => `changed_tasks AS (
  INSERT INTO tasks (run_id, step, sequence, recovery, ord, status, attempts, result_v8, error, created_at, updated_at)
  SELECT $1, t.step, t.sequence, $4, t.ord, t.status, t.attempts, decode(t.result, 'base64'), t.error, $5, $5
  FROM json_to_recordset(${json}::json) AS t(ord int, step text, sequence text, status text, attempts int,
                                        result text, error text)
  WHERE EXISTS (SELECT 1 FROM fence) AND (SELECT true FROM tasks x WHERE x.run_id = $1 AND x.ord = t.ord)
  ON CONFLICT (run_id, ord) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
    result_v8 = excluded.result_v8, error = excluded.error, updated_at = excluded.updated_at
)`,
  },
  {
    rows: 'newTriggers',
    sql: (json) => `new_triggers AS (
  INSERT INTO triggers (run_id, recovery, sequence, event, ord, acted, created_at, source_step, source_sequence)
  SELECT $1, $4, t.sequence, t.event, t.ord, t.acted, $5, t.source_step, t.source_sequence
  FROM json_to_recordset(${json}::json) AS t(sequence text, event text, ord int, acted int,
                                        source_step text, source_sequence text)
  WHERE EXISTS (SELECT 1 FROM fence)
  ON CONFLICT DO NOTHING
)`,
  },
  {
    rows: 'actedTriggers',
    sql: (json) => `acted_triggers AS (
  INSERT INTO triggers (run_id, recovery, sequence, event, ord, acted, created_at)
  SELECT $1, $4, t.sequence, t.event, 0, 1, $5
  FROM json_to_recordset(${json}::json) AS t(sequence text, event text)
  WHERE EXISTS (SELECT 1 FROM fence) AND (SELECT true FROM triggers x WHERE x.run_id = $1 AND x.recovery = $4
                                            AND x.sequence = t.sequence AND x.event = t.event)
  ON CONFLICT (run_id, recovery, sequence, event) DO UPDATE SET acted = 1
)`,
  },
  {
    rows: 'newDelays',
    sql: (json) => `new_delays AS (
  INSERT INTO delays (run_id, recovery, assoc, sequence, due_at, fired, created_at)
  SELECT $1, $4, t.assoc, t.sequence, t.due_at, t.fired, $5
  FROM json_to_recordset(${json}::json) AS t(assoc text, sequence text, due_at bigint, fired int)
  WHERE EXISTS (SELECT 1 FROM fence)
  ON CONFLICT DO NOTHING
)`,
  },
  {
    rows: 'firedDelays',
    sql: (json) => `fired_delays AS (
  INSERT INTO delays (run_id, recovery, assoc, sequence, due_at, fired, created_at)
  SELECT $1, $4, t.assoc, t.sequence, 0, 1, $5
  FROM json_to_recordset(${json}::json) AS t(assoc text, sequence text)
  WHERE EXISTS (SELECT 1 FROM fence) AND (SELECT true FROM delays x WHERE x.run_id = $1 AND x.assoc = t.assoc
                                            AND x.sequence = t.sequence AND x.recovery = $4)
  ON CONFLICT (run_id, assoc, sequence, recovery) DO UPDATE SET fired = 1
)`,
  },
];

const statements = new Map<number, string>();

function statement(mask: number): string {
  let text = statements.get(mask);
  if (text !== undefined) return text;
  const ctes = [FENCE];
  let param = 5;
  PARTS.forEach((part, i) => {
    if (mask & (1 << i)) ctes.push(part.sql(`$${++param}`));
  });
  text = `WITH ${ctes.join(',\n')}\nSELECT count(*)::int AS held, ${NOTIFY_CHANGE_CALL} AS notified FROM fence`;
  statements.set(mask, text);
  return text;
}

/** 0 below 512 tasks, then 1 more each time the run's tasks (its highest `ord`) double. */
export function generation(tasks: number): number {
  return tasks < 512 ? 0 : Math.floor(Math.log2(tasks / 512)) + 1;
}

/**
 * The statement of one pass: `head` is run, lease token, lease expiry, recovery, now; `tasks` how
 * many tasks the run has (its highest `ord`).
 */
export function commitQuery(
  head: [string, string, number, number, number],
  rows: CommitRows,
  tasks: number,
): QueryConfig {
  let mask = 0;
  const values: unknown[] = [...head];
  PARTS.forEach((part, i) => {
    const list = rows[part.rows];
    if (list.length === 0) return;
    mask |= 1 << i;
    values.push(JSON.stringify(list));
  });
  return { name: `flow_commit_${mask}_${generation(tasks)}`, text: statement(mask), values };
}
