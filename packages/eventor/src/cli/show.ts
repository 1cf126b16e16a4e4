import { parseArgs } from 'node:util';
import type { SerializedError } from '../describe.js';
import type { TaskBrief } from '../inspect/diagnose.js';
import {
  resultAsJson,
  runDefinitionChanges,
  runState,
  StoreReader,
  TASK_FILTER_STATUSES,
} from '../inspect/reader.js';
import { describeChange } from '../model/definition-changes.js';
import type { RunRow, TaskRow } from '../store/types.js';
import {
  type Command,
  findRun,
  type Io,
  integerArg,
  parseOrUsage,
  positionals,
  UsageError,
} from './command.js';
import {
  errorHeadline,
  formatDuration,
  formatTime,
  paint,
  printable,
  printableJson,
  table,
} from './format.js';

const HELP = `Usage: eventor show <store> [runId] [--status S]... [--step NAME]... [--recovery N] [--json]

Prints the tasks of a run (default: the latest run), every recovery, oldest first: step, sequence,
recovery, status, attempts, duration (from the task's creation to its last change, waiting for
resources included), whether recovery skipped it, and the first line of its error.

Options:
  --status S     only tasks with this status: ${TASK_FILTER_STATUSES.join(', ')}
                 (pending = not finished; skipped = skipped by recovery); repeat for several
  --step NAME    only tasks of this step; repeat for several
  --recovery N   only tasks of recovery N
  --json         print an array of task records (full error and result) instead of a table
  -h, --help     show this help`;

/** One task as `show --json` prints it. */
export interface TaskJson extends Omit<TaskBrief, 'error'> {
  runId: string;
  durationMs: number | null;
  createdAt: string;
  updatedAt: string;
  result?: unknown;
  error?: SerializedError;
}

export const showCommand: Command = {
  name: 'show',
  summary: "print a run's tasks: status, attempts, duration, errors",
  help: HELP,
  run(args: string[], io: Io): number {
    const { values, positionals: given } = parseOrUsage('show', () =>
      parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: {
          status: { type: 'string', multiple: true },
          step: { type: 'string', multiple: true },
          recovery: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    const [storePath, runId] = positionals('show', given, { required: ['store'], optional: ['runId'] }) as [
      string,
      string | undefined,
    ];
    for (const status of values.status ?? []) {
      if (!TASK_FILTER_STATUSES.includes(status)) {
        throw new UsageError(
          `--status must be one of ${TASK_FILTER_STATUSES.join(', ')}; got "${status}"`,
          'show',
        );
      }
    }
    const recovery = integerArg('show', 'recovery', values.recovery);
    const reader = StoreReader.open(storePath);
    try {
      const run = findRun(reader, runId);
      const statuses = values.status ?? [];
      // skipped is a flag, not a stored status: filter for it here, and for the rest in SQL
      const inSql = !statuses.includes('skipped');
      let rows = reader.tasks(run.id, { statuses: inSql ? statuses : [], steps: values.step, recovery });
      if (!inSql) rows = rows.filter((row) => statuses.some((status) => hasStatus(row, status)));
      if (values.json) {
        io.out(printableJson(rows.map(toJson)));
        return 0;
      }
      const filtered = values.status !== undefined || values.step !== undefined || recovery !== undefined;
      io.out(headline(run, rows.length, filtered, io));
      for (const record of filtered ? [] : runDefinitionChanges(run)) {
        io.out(`Definition changed in recovery ${record.recovery} (${formatTime(record.at)}):`);
        for (const change of record.changes) io.out(`  ${printable(describeChange(change))}`);
      }
      if (rows.length > 0) io.out(taskTable(rows, io));
      return 0;
    } finally {
      reader.close();
    }
  },
};

/** Run <id> (<name>) · <status> · recovery N · started <time> · N tasks [matching]. */
function headline(run: RunRow, count: number, filtered: boolean, io: Io): string {
  const state = runState(run);
  return (
    `Run ${printable(run.id)} (${printable(run.name)}) · ${paint(state, state, io.color)} · recovery ${run.recovery} · ` +
    `started ${formatTime(run.startedAt)} · ${count} task${count === 1 ? '' : 's'}` +
    (filtered ? ' matching' : '')
  );
}

function taskTable(rows: readonly TaskRow[], io: Io): string {
  return table(
    [
      { header: 'STEP' },
      { header: 'SEQUENCE' },
      { header: 'RECOVERY', align: 'right' },
      { header: 'STATUS' },
      { header: 'ATTEMPTS', align: 'right' },
      { header: 'DURATION', align: 'right' },
      { header: 'SKIPPED' },
      { header: 'ERROR' },
    ],
    rows.map((row) => [
      printable(row.step),
      printable(row.sequence),
      String(row.recovery),
      paint(row.skipped ? 'skipped' : row.status, row.status, io.color),
      String(row.attempts),
      taskDuration(row, io.now),
      row.skipped ? 'yes' : '',
      printable(errorSummary(row)),
    ]),
    io.isTTY ? io.columns : undefined,
  );
}

function hasStatus(row: TaskRow, status: string): boolean {
  if (status === 'skipped') return row.skipped === 1;
  if (status === 'pending') return !finished(row);
  return row.status === status;
}

function finished(row: TaskRow): boolean {
  return row.status === 'success' || row.status === 'failure';
}

function taskDuration(row: TaskRow, now: number): string {
  if (row.skipped) return '-';
  if (finished(row)) return formatDuration(row.updatedAt - row.createdAt);
  return row.status === 'active' ? `${formatDuration(now - row.createdAt)}+` : '-';
}

/** The first line of the stored error's message (a retrying task keeps its last attempt's error). */
export function errorSummary(row: TaskRow): string {
  if (row.error === null) return '';
  try {
    const error = JSON.parse(row.error) as SerializedError;
    return errorHeadline(error.message, row);
  } catch {
    return errorHeadline(row.error, row);
  }
}

function toJson(row: TaskRow): TaskJson {
  const record: TaskJson = {
    runId: row.runId,
    step: row.step,
    sequence: row.sequence,
    recovery: row.recovery,
    status: row.status,
    attempts: row.attempts,
    skipped: row.skipped === 1,
    durationMs: finished(row) && row.skipped === 0 ? row.updatedAt - row.createdAt : null,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
  const result = resultAsJson(row);
  if (result.has) record.result = result.value;
  if (row.error !== null) record.error = JSON.parse(row.error) as SerializedError;
  return record;
}
