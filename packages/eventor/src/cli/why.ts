import { parseArgs } from 'node:util';
import { diagnoseStep, SEQUENCE_LIMIT } from '../inspect/diagnose.js';
import { renderDiagnosis } from '../inspect/diagnosis-text.js';
import { runShape, StoreReader } from '../inspect/reader.js';
import { type Command, findRun, type Io, LookupError, parseOrUsage, positionals } from './command.js';
import { printableJson } from './format.js';

const HELP = `Usage: eventor why <store> <step> [--sequence S] [--run R] [--json]

Explains why a step has not run (or not run again) in the latest recovery of a run (default: the
latest run): the events that would start it and, for events with an expression, which parts are
false; the pool or the step's cap it waits for; a delay that is pending (and when it is due); or the
unhandled failure the run stopped on. When the step ran, it says so, with its status.

Without --sequence it explains the sequences where the step has a task or an event that starts it
fired, or else the ones the run was started in (at most ${SEQUENCE_LIMIT}); pass --sequence for others.

Options:
  --sequence S  explain sequence S only
  --run R       the run to look at (default: the latest run)
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
    const reader = StoreReader.open(storePath);
    try {
      const run = findRun(reader, values.run);
      const shape = runShape(run);
      if (!shape) {
        throw new LookupError(
          `Run "${run.id}" has no recorded shape: run() was never called on it, so its steps are unknown.`,
        );
      }
      if (!shape.steps.some((s) => s.name === step)) {
        const names = shape.steps.map((s) => s.name);
        throw new LookupError(
          `Run "${run.id}" has no step "${step}". Its steps: ${names.slice(0, 20).join(', ')}` +
            (names.length > 20 ? `, … (${names.length} in all)` : '') +
            '.',
        );
      }
      const diagnosis = diagnoseStep(reader, run, shape, step, values.sequence);
      if (values.json) io.out(printableJson(diagnosis));
      else io.out(renderDiagnosis(diagnosis, storePath, io.now));
      return 0;
    } finally {
      reader.close();
    }
  },
};
