import { parseArgs } from 'node:util';
import { diagnoseStep, SEQUENCE_LIMIT } from '../inspect/diagnose.js';
import { renderDiagnosis } from '../inspect/diagnosis-text.js';
import { runShape } from '../inspect/reader.js';
import { RunTree } from '../inspect/tree.js';
import { diagnoseNode } from '../inspect/tree-diagnose.js';
import { renderTreeDiagnosis } from '../inspect/tree-diagnosis-text.js';
import { treeNodes } from '../model/tree.js';
import {
  type Command,
  findRun,
  type Io,
  LookupError,
  openStore,
  parseOrUsage,
  positionals,
  STORE_HELP,
} from './command.js';
import { printableJson, shellWord } from './format.js';
import { storedTree } from './tree.js';

const HELP = `Usage: eventor why <store> <step> [--sequence S] [--run R] [--compiled] [--json]

${STORE_HELP}

Explains why a step has not run (or not run again) in the latest recovery of a run (default: the
latest run): the events that would start it and, for events with an expression, which parts are
false; the pool or the step's cap it waits for; a delay that is pending (and when it is due); or the
unhandled failure the run stopped on. When the step ran, it says so, with its status.

For a run of a tree (a sequent flow), <step> is a step's path (e.g. batch_extract) and the answer
is in the tree's terms: the requirement it waits for and in which iteration ("waits for
batch_extract to succeed in iteration 1.2"), or the iteration or container that has not started.

Without --sequence it explains the sequences where the step has a task or an event that starts it
fired, or else the ones the run was started in (at most ${SEQUENCE_LIMIT}); for a tree, the sequences
it runs in, those that have not run first. Pass --sequence for others.

Options:
  --sequence S  explain sequence S only
  --run R       the run to look at (default: the latest run)
  --compiled    explain the eventor step of that name, events and all, even in a tree's run
  --json        print the diagnosis as JSON
  -h, --help    show this help`;

export const whyCommand: Command = {
  name: 'why',
  summary: 'explain why a step has not run: events, expressions, pools, caps, delays, failures',
  help: HELP,
  run(args: string[], io: Io): number {
    const { values, positionals: given } = parseOrUsage('why', () =>
      parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: {
          sequence: { type: 'string', short: 's' },
          run: { type: 'string', short: 'r' },
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
    const [storePath, step] = positionals('why', given, { required: ['store', 'step'] }) as [string, string];
    const reader = openStore('why', storePath);
    try {
      const run = findRun(reader, values.run);
      const shape = runShape(run);
      if (!shape) {
        throw new LookupError(
          `Run "${run.id}" has no recorded shape: run() was never called on it, so its steps are unknown.`,
        );
      }
      const tree = values.compiled ? undefined : storedTree(run);
      if (tree) {
        const model = RunTree.read(reader, run, tree);
        const node = model.node(step) ?? model.leafOfStep(step);
        if (node) {
          const diagnosis = diagnoseNode(reader, run, shape, model, node, values.sequence);
          if (values.json) io.out(printableJson(diagnosis));
          else io.out(renderTreeDiagnosis(diagnosis, shellWord(reader.location), io.now));
          return 0;
        }
        if (!shape.steps.some((s) => s.name === step)) {
          const paths = treeNodes(tree).map((n) => n.path);
          throw new LookupError(
            `Run "${run.id}" has no step "${step}". Its steps: ${list(paths)}. ` +
              '(--compiled takes the names of the eventor steps the tree was compiled to.)',
          );
        }
      }
      if (!shape.steps.some((s) => s.name === step)) {
        throw new LookupError(
          `Run "${run.id}" has no step "${step}". Its steps: ${list(shape.steps.map((s) => s.name))}.`,
        );
      }
      const diagnosis = diagnoseStep(reader, run, shape, step, values.sequence);
      if (values.json) io.out(printableJson(diagnosis));
      else io.out(renderDiagnosis(diagnosis, shellWord(reader.location), io.now));
      return 0;
    } finally {
      reader.close();
    }
  },
};

function list(names: readonly string[]): string {
  return names.slice(0, 20).join(', ') + (names.length > 20 ? `, … (${names.length} in all)` : '');
}
