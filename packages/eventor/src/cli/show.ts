import { parseArgs } from 'node:util';
import type { SerializedError } from '../describe.js';
import type { TaskBrief } from '../inspect/diagnose.js';
import { resultAsJson, runDefinitionChanges, runState, TASK_FILTER_STATUSES } from '../inspect/reader.js';
import {
  iterationSummary,
  iterationText,
  type NodeRun,
  type NodeState,
  overallState,
  RunTree,
  STATE_WORDS,
} from '../inspect/tree.js';
import { describeChange } from '../model/definition-changes.js';
import type { TreeNode } from '../model/tree.js';
import type { RunRow, TaskRow } from '../store/types.js';
import {
  type Command,
  findRun,
  type Io,
  integerArg,
  openStore,
  parseOrUsage,
  positionals,
  STORE_HELP,
  UsageError,
} from './command.js';
import {
  errorHeadline,
  formatDelay,
  formatDuration,
  formatTime,
  paint,
  printable,
  printableJson,
  table,
} from './format.js';
import { storedTree } from './tree.js';

const HELP = `Usage: eventor show <store> [runId] [--status S]... [--step NAME]... [--recovery N] [--compiled] [--json]

${STORE_HELP}

Prints the tasks of a run (default: the latest run), every recovery, oldest first: step, sequence,
recovery, status, attempts, duration (from the task's creation to its last change, waiting for
resources included), whether recovery skipped it, and the first line of its error.

A run of a flow written as a tree (a sequent flow) is shown as that tree: first its steps, nested
by container, with what each came to in the current recovery and each container's iterations;
then the tasks of its leaf steps, by path. The bookkeeping tasks the tree was compiled to are left
out; --compiled shows every eventor task.

Options:
  --status S     only tasks with this status: ${TASK_FILTER_STATUSES.join(', ')}
                 (pending = not finished; skipped = skipped by recovery); repeat for several
  --step NAME    only tasks of this step (in a tree: of this path, or of the steps inside it); repeat for several
  --recovery N   only tasks of recovery N
  --compiled     in a tree's run, every eventor task, bookkeeping included
  --json         print an array of task records (full error and result) instead of a table
  -h, --help     show this help`;

/** One task as `show --json` prints it. */
export interface TaskJson extends Omit<TaskBrief, 'error'> {
  runId: string;
  /** In a tree's run: the leaf's path. */
  path?: string;
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
          compiled: { type: 'boolean' },
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
    const reader = openStore('show', storePath);
    try {
      const run = findRun(reader, runId);
      const description = values.compiled ? undefined : storedTree(run);
      const tree = description ? RunTree.read(reader, run, description) : undefined;
      const statuses = values.status ?? [];
      // skipped is a flag, not a stored status: filter for it here, and for the rest in SQL
      const inSql = !statuses.includes('skipped');
      const steps = tree && values.step ? values.step.flatMap((name) => leafSteps(tree, name)) : values.step;
      let rows = reader.tasks(run.id, { statuses: inSql ? statuses : [], steps, recovery });
      if (!inSql) rows = rows.filter((row) => statuses.some((status) => hasStatus(row, status)));
      let hidden = 0;
      if (tree) {
        const before = rows.length;
        rows = rows.filter((row) => tree.leafOfStep(row.step) !== undefined);
        hidden = before - rows.length;
      }
      const pathOf = (row: TaskRow): string => tree?.leafOfStep(row.step)?.path ?? row.step;
      if (values.json) {
        io.out(printableJson(rows.map((row) => toJson(row, tree ? pathOf(row) : undefined))));
        return 0;
      }
      const filtered = values.status !== undefined || values.step !== undefined || recovery !== undefined;
      io.out(headline(run, rows.length, filtered, io) + (hidden > 0 ? hiddenNote(hidden) : ''));
      for (const record of filtered ? [] : runDefinitionChanges(run)) {
        io.out(`Definition changed in recovery ${record.recovery} (${formatTime(record.at)}):`);
        for (const change of record.changes) io.out(`  ${printable(describeChange(change))}`);
      }
      if (tree && !filtered) io.out(treeOutline(tree, io));
      if (rows.length > 0) io.out(taskTable(rows, io, pathOf));
      return 0;
    } finally {
      reader.close();
    }
  },
};

function hiddenNote(hidden: number): string {
  return ` of its steps (${hidden} bookkeeping task${hidden === 1 ? '' : 's'} not shown: --compiled shows them)`;
}

/** The compiled steps of `name` in the tree: a leaf's, every leaf's inside a container, or `name` itself. */
function leafSteps(tree: RunTree, name: string): string[] {
  const node = tree.node(name);
  if (node === undefined) return [name];
  const steps: string[] = [];
  const visit = (at: TreeNode): void => {
    if (at.kind === 'leaf') steps.push(at.step);
    else for (const child of at.children) visit(child);
  };
  visit(node);
  return steps.length > 0 ? steps : [name];
}

/**
 * The tree, one line per step, nested by container: what it came to in the current recovery, a
 * container's iterations, and a leaf's outcomes over the iterations it ran in.
 */
function treeOutline(tree: RunTree, io: Io): string {
  const rows: Array<{ name: string; state: NodeState; detail: string }> = [];
  const visit = (nodes: readonly TreeNode[], depth: number): void => {
    for (const node of nodes) {
      const runs = tree.runsOfNode(node);
      const summary = iterationSummary(tree, node);
      let detail = summary ? iterationText(summary) : '';
      if (node.kind === 'leaf' && runs.length > 1) detail = countStates(runs);
      if (node.delayMs) detail = [`after ${formatDelay(node.delayMs)}`, detail].filter(Boolean).join('; ');
      rows.push({ name: `${'  '.repeat(depth)}${node.path}`, state: overallState(runs), detail });
      if (node.kind === 'container') visit(node.children, depth + 1);
    }
  };
  visit(tree.tree.nodes, 1);
  const width = Math.max(...rows.map((row) => row.name.length));
  const stateWidth = Math.max(...rows.map((row) => STATE_WORDS[row.state].length));
  const lines = ['Steps, as of recovery ' + tree.run.recovery + ':'];
  for (const row of rows) {
    const word = STATE_WORDS[row.state];
    const state = paint(row.state === 'active' ? 'running' : row.state, word, io.color);
    const pad = ' '.repeat(stateWidth - word.length);
    lines.push(
      `${printable(row.name).padEnd(width)}  ${state}${row.detail ? `${pad}  ${printable(row.detail)}` : ''}`.trimEnd(),
    );
  }
  return lines.join('\n');
}

/** "2 success, 1 not started": a leaf's outcomes over the sequences it runs in. */
function countStates(runs: readonly NodeRun[]): string {
  const counts = new Map<NodeState, number>();
  for (const run of runs) counts.set(run.state, (counts.get(run.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => `${n} ${STATE_WORDS[state]}`).join(', ');
}

/** Run <id> (<name>) · <status> · recovery N · started <time> · N tasks [matching]. */
function headline(run: RunRow, count: number, filtered: boolean, io: Io): string {
  const state = runState(run);
  return (
    `Run ${printable(run.id)} (${printable(run.name)}) · ${paint(state, state, io.color)} · recovery ${run.recovery} · ` +
    `started ${formatTime(run.startedAt)} · ${count} task${count === 1 ? '' : 's'}` +
    (filtered ? ' matching' : '')
  );
}

function taskTable(rows: readonly TaskRow[], io: Io, stepOf: (row: TaskRow) => string): string {
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
      printable(stepOf(row)),
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

function toJson(row: TaskRow, path: string | undefined): TaskJson {
  const record: TaskJson = {
    runId: row.runId,
    step: row.step,
    ...(path === undefined ? {} : { path }),
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
