/**
 * SQL of a PostgreSQL store that more than one module reads, with the aliases that give rows the
 * shapes of ../types.ts (RunRow, TaskRow). Unqualified table names: `search_path` is the store's schema.
 */

export const RUN_COLUMNS = `id, name, mode, recovery, status, started_at AS "startedAt", updated_at AS "updatedAt",
  ended_at AS "endedAt", lease_pid AS "leasePid", lease_host AS "leaseHost", lease_token AS "leaseToken",
  lease_expires_at AS "leaseExpiresAt", open_from AS "openFrom",
  (SELECT shape FROM run_shapes WHERE run_shapes.run_id = runs.id) AS shape`;

export const TASK_COLUMNS = `run_id AS "runId", ord, step, sequence, recovery, status, attempts, result,
  result_v8 AS "resultV8", error, skipped, created_at AS "createdAt", updated_at AS "updatedAt", child`;

/** Names sort as SQLite sorts them (by code point), whatever the database's collation. */
export const BY_CODE_POINT = 'COLLATE "C"';
