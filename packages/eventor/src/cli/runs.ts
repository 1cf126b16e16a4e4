import { parseArgs } from 'node:util';
import type { RunSummary } from '../inspect/reader.js';
import { type Command, type Io, openStore, parseOrUsage, positionals, STORE_HELP } from './command.js';
import { formatDuration, formatTime, paint, printable, printableJson, table } from './format.js';

const HELP = `Usage: eventor runs <store> [--json]

${STORE_HELP}

Lists the runs in a store, oldest first: id, flow name, mode, recovery number, status, start,
duration, the tasks of the run's current recovery by outcome (skipped = skipped by recovery;
pending = not finished) and its delays not yet fired.
A run left 'running' by a process that is gone shows as 'interrupted'.

Options:
  --json      print an array of run records instead of a table
  -h, --help  show this help`;

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list the runs in a store, with their status and task counts',
  help: HELP,
  run(args: string[], io: Io): number {
    const { values, positionals: given } = parseOrUsage('runs', () =>
      parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      }),
    );
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    const [storePath] = positionals('runs', given, { required: ['store'] }) as [string];
    const reader = openStore('runs', storePath);
    try {
      const runs = reader.listRuns();
      if (values.json) {
        io.out(
          printableJson(
            runs.map((run) => ({
              id: run.id,
              name: run.name,
              mode: run.mode,
              recovery: run.recovery,
              status: run.state,
              startedAt: new Date(run.startedAt).toISOString(),
              endedAt: run.endedAt === null ? null : new Date(run.endedAt).toISOString(),
              durationMs: runDuration(run, io.now).ms,
              tasks: {
                success: run.success,
                failure: run.failure,
                skipped: run.skipped,
                pending: run.pending,
              },
              pendingDelays: run.delays,
            })),
          ),
        );
        return 0;
      }
      if (runs.length === 0) {
        io.out(`No runs in ${printable(reader.location)}.`);
        return 0;
      }
      io.out(
        table(
          [
            { header: 'RUN' },
            { header: 'NAME' },
            { header: 'MODE' },
            { header: 'RECOVERY', align: 'right' },
            { header: 'STATUS' },
            { header: 'STARTED' },
            { header: 'DURATION', align: 'right' },
            { header: 'SUCCESS', align: 'right' },
            { header: 'FAILURE', align: 'right' },
            { header: 'SKIPPED', align: 'right' },
            { header: 'PENDING', align: 'right' },
            { header: 'DELAYS', align: 'right' },
          ],
          runs.map((run) => [
            printable(run.id),
            printable(run.name),
            printable(run.mode),
            String(run.recovery),
            paint(run.state, run.state, io.color),
            formatTime(run.startedAt),
            showDuration(run, io.now),
            String(run.success),
            String(run.failure),
            String(run.skipped),
            String(run.pending),
            String(run.delays),
          ]),
          io.isTTY ? io.columns : undefined,
        ),
      );
      return 0;
    } finally {
      reader.close();
    }
  },
};

/** A live run's duration so far; an ended run's from its start to its last end (across recoveries). */
export function runDuration(run: RunSummary, now: number): { ms: number | null; open: boolean } {
  if (run.state === 'running') return { ms: now - run.startedAt, open: true };
  if (run.endedAt === null) return { ms: null, open: true };
  return { ms: run.endedAt - run.startedAt, open: false };
}

function showDuration(run: RunSummary, now: number): string {
  const { ms, open } = runDuration(run, now);
  if (ms === null) return '-';
  return formatDuration(ms) + (open ? '+' : '');
}
