/**
 * SQL of a PostgreSQL store that more than one module reads, with the aliases that give rows the
 * shapes of ../types.ts (RunRow, TaskRow). Unqualified table names: `search_path` is the store's schema.
 */

/** A run's columns but its shape (lists of runs do not read it): `shape` is NULL. */
export const RUN_LIST_COLUMNS = `id, name, mode, recovery, status, started_at AS "startedAt", updated_at AS "updatedAt",
  ended_at AS "endedAt", lease_pid AS "leasePid", lease_host AS "leaseHost", lease_token AS "leaseToken",
  lease_expires_at AS "leaseExpiresAt", open_from AS "openFrom", NULL AS shape`;

export const RUN_COLUMNS = RUN_LIST_COLUMNS.replace(
  'NULL AS shape',
  '(SELECT shape FROM run_shapes WHERE run_shapes.run_id = runs.id) AS shape',
);

export const TASK_COLUMNS = `run_id AS "runId", ord, step, sequence, recovery, status, attempts, result,
  result_v8 AS "resultV8", error, skipped, created_at AS "createdAt", updated_at AS "updatedAt", child`;

/** Names sort as SQLite sorts them (by code point), whatever the database's collation. */
export const BY_CODE_POINT = 'COLLATE "C"';

/**
 * The channel a store's writes notify, with the store's schema as payload, so that a reader
 * (`eventor ui`) LISTENs instead of polling. One channel for every schema: a channel is an
 * identifier of at most 63 bytes, which a name built from a schema's (63 bytes too) could pass.
 */
export const CHANGES_CHANNEL = 'flow_changes';

/** Tells the store's listeners that it changed (sent when the transaction that calls it commits). */
export const NOTIFY_CHANGE_CALL = `pg_notify('${CHANGES_CHANNEL}', current_schema())`;

/** NOTIFY_CHANGE_CALL as a statement of its own. */
export const NOTIFY_CHANGE = { text: `SELECT ${NOTIFY_CHANGE_CALL}` };
