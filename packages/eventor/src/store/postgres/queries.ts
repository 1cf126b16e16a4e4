/**
 * SQL of a PostgreSQL store that more than one module reads, with the aliases that give rows the
 * shapes of ../types.ts (RunRow, TaskRow). Unqualified table names: `search_path` is the store's schema.
 */

const RUN_FIELDS = `id, name, mode, recovery, status, started_at AS "startedAt", updated_at AS "updatedAt",
  ended_at AS "endedAt", lease_pid AS "leasePid", lease_host AS "leaseHost", lease_token AS "leaseToken",
  lease_expires_at AS "leaseExpiresAt", open_from AS "openFrom"`;

export const RUN_COLUMNS = `${RUN_FIELDS},
  (SELECT shape FROM run_shapes WHERE run_shapes.run_id = runs.id) AS shape`;

/** A run's columns but its shape, NULL (lists of runs do not read it). */
export const RUN_LIST_COLUMNS = `${RUN_FIELDS}, NULL AS shape`;

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
