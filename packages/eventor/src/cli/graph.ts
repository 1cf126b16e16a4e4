import { parseArgs } from 'node:util';
import { runShape, StoreReader } from '../store/inspect.js';
import type { TaskRow } from '../store/store.js';
import {
  type Command,
  findRun,
  type Io,
  LookupError,
  parseOrUsage,
  positionals,
  UsageError,
} from './command.js';
import { buildGraph, renderDot, renderMermaid, type StepState } from './graph-render.js';

const FORMATS = ['mermaid', 'dot'];

const HELP = `Usage: eventor graph <store> [runId] [--format mermaid|dot]

Prints the flow's shape as a run recorded it: events (rounded), steps (boxes), and/or nodes of
expressions (dotted inputs), assocs (event -> step or event, labelled with their delay) and step
triggers (step -> event, labelled with the status that fires them).

Without runId it draws the latest run's shape, uncoloured. With a runId, each step is coloured by
what its tasks came to in the latest recovery that ran it: failure if any task failed, else active
if any runs, else waiting (ready / allocate / fueled), else success (skipped when recovery skipped
all of them).

Options:
  --format F  mermaid (default) or dot; render dot with Graphviz: eventor graph run.db --format dot | dot -Tsvg > flow.svg
  -h, --help  show this help`;

export const graphCommand: Command = {
  name: 'graph',
  summary: "draw the flow's events, steps, assocs and expressions (mermaid or dot)",
  help: HELP,
  run(args: string[], io: Io): number {
    const { values, positionals: given } = parseOrUsage('graph', () =>
      parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: {
          format: { type: 'string', short: 'f', default: 'mermaid' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    const [storePath, runId] = positionals('graph', given, { required: ['store'], optional: ['runId'] }) as [
      string,
      string | undefined,
    ];
    if (!FORMATS.includes(values.format)) {
      throw new UsageError(`--format must be mermaid or dot; got "${values.format}"`, 'graph');
    }
    const reader = StoreReader.open(storePath);
    try {
      const run = findRun(reader, runId);
      const shape = runShape(run);
      if (!shape) {
        throw new LookupError(
          `Run "${run.id}" has no recorded shape: run() was never called on it, so its flow is unknown.`,
        );
      }
      const states = runId === undefined ? undefined : stepStates(reader.tasks(run.id));
      const graph = buildGraph(shape, states);
      io.out(values.format === 'dot' ? renderDot(graph, run.name) : renderMermaid(graph));
      return 0;
    } finally {
      reader.close();
    }
  },
};

const RANK: Record<StepState, number> = { failure: 4, active: 3, waiting: 2, success: 1, skipped: 0 };

/** Per step, the worst state among its tasks of the latest recovery that has any for that step. */
export function stepStates(tasks: readonly TaskRow[]): Map<string, StepState> {
  const latest = new Map<string, number>();
  for (const task of tasks) latest.set(task.step, Math.max(latest.get(task.step) ?? -1, task.recovery));
  const states = new Map<string, StepState>();
  for (const task of tasks) {
    if (task.recovery !== latest.get(task.step)) continue;
    const state = taskState(task);
    const current = states.get(task.step);
    if (current === undefined || RANK[state] > RANK[current]) states.set(task.step, state);
  }
  return states;
}

function taskState(task: TaskRow): StepState {
  if (task.status === 'failure') return 'failure';
  if (task.status === 'active') return 'active';
  if (task.status === 'success') return task.skipped ? 'skipped' : 'success';
  return 'waiting';
}
