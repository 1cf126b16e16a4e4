import { parseArgs } from 'node:util';
import { runShape, StoreReader } from '../store/inspect.js';
import { type Command, findRun, type Io, LookupError, parseOrUsage, positionals } from './command.js';
import {
  diagnoseStep,
  type EventSource,
  type EventState,
  type ExprState,
  type Reason,
  SEQUENCE_LIMIT,
  type SequenceDiagnosis,
  type StepDiagnosis,
  type TaskBrief,
} from './diagnose.js';
import { errorHeadline, formatDelay, formatTime, printable, printableJson, relative } from './format.js';

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

/** The diagnosis as indented text. */
export function renderDiagnosis(d: StepDiagnosis, storePath: string, now: number): string {
  const out: string[] = [
    `Step ${d.step} in run ${d.runId} (${d.name}), recovery ${d.recovery}, ${d.runStatus}.`,
  ];
  const render = new Renderer(storePath, now);
  for (const seq of d.sequences) {
    out.push('');
    out.push(`${task(d.step, seq.sequence)}: ${headline(seq)}`);
    for (const reason of seq.reasons) append(out, render.reason(reason, d, seq), '  ');
    if (seq.verdict === 'not-started' && seq.earlier) {
      const e = seq.earlier;
      out.push(`  - In recovery ${e.recovery} it ended ${describeStatus(e)}.`);
    }
  }
  if (d.moreSequences > 0) {
    out.push('');
    out.push(`… and ${d.moreSequences} more sequence(s); pass --sequence S to explain one of them.`);
  }
  // names, sequences and error texts come from the store: no line reaches the terminal raw
  return out.map(printable).join('\n');
}

function headline(seq: SequenceDiagnosis): string {
  switch (seq.verdict) {
    case 'ran':
      return 'it ran.';
    case 'running':
      return 'it is running.';
    case 'waiting':
      return 'it is waiting to start.';
    case 'not-started':
      return 'it has not run.';
  }
}

class Renderer {
  constructor(
    private readonly store: string,
    private readonly now: number,
  ) {}

  reason(r: Reason, d: StepDiagnosis, seq: SequenceDiagnosis): string[] {
    switch (r.kind) {
      case 'ran': {
        const lines = [
          `- It ended ${describeStatus(r.task)} in recovery ${r.task.recovery} (attempts: ${r.task.attempts}).`,
        ];
        if (r.task.skipped && r.earlier) {
          lines.push(
            `  Recovery skipped it: its attempt in recovery ${r.earlier.recovery} ended ${r.earlier.status}.`,
          );
        }
        if (r.task.status === 'failure' && r.task.error)
          lines.push(`  Error: ${errorHeadline(r.task.error, r.task)}`);
        return lines;
      }
      case 'running':
        return [
          `- It is active (attempt ${r.task.attempts}) since ${formatTime(r.since)} (${relative(r.since, this.now)}).`,
        ];
      case 'starting':
        return ['- It holds its resources and is about to start.'];
      case 'pool': {
        const lines = ['- It waits for resources (status allocate):'];
        for (const pool of r.pools) {
          lines.push(`    pool ${pool.pool}: it needs ${pool.amount}.`);
          if (pool.holders.length > 0) {
            lines.push(`      held by running tasks: ${pool.holders.map(taskName).join(', ')}`);
          } else if (pool.finished.length > 0) {
            lines.push(
              `      no running task holds it; finished tasks that acquired it keep their share if their step ` +
                `does not release it (releases: []): ${pool.finished.map((t) => `${taskName(t)} ${t.status}`).join(', ')}`,
            );
          } else {
            lines.push('      no task of this run holds it: another Eventor in the same process does.');
          }
        }
        return lines;
      }
      case 'cap':
        return [
          `- Its step's cap is reached: maxConcurrent ${r.maxConcurrent}, running now: ${r.running.map(taskName).join(', ')}.`,
          '  It starts when one of them ends.',
        ];
      case 'retry':
        return [
          `- Attempt ${r.task.attempts} failed and it waits out the retry backoff before attempt ${r.task.attempts + 1}.`,
          ...(r.task.error ? [`  Last error: ${errorHeadline(r.task.error, r.task)}`] : []),
        ];
      case 'slot':
        return [
          "- It is ready and waits for a free slot (the eventor's maxConcurrent) or for its turn in this pass.",
        ];
      case 'run-ended':
        return [
          r.task
            ? `- It is ready, but the run ended (${r.runStatus}) before it started: continue the run (runMode 'continue') to start it.`
            : `- Nothing is pending for it, and the run ended (${r.runStatus}).`,
        ];
      case 'stopped': {
        const live = r.runStatus === 'running';
        const head = live
          ? '- An unhandled failure stops the run from starting new tasks (unless stopOnException is false):'
          : `- The run stopped on an unhandled failure (run status ${r.runStatus}):`;
        const lines = [head];
        for (const failure of r.failures) {
          lines.push(
            `    ${taskName(failure)} failed: ${failure.error ? errorHeadline(failure.error, failure) : 'no error recorded'}`,
          );
        }
        if (!live) lines.push("  Fix the cause and recover the run (runMode 'recover') to go on.");
        return lines;
      }
      case 'event': {
        const delay = r.delayMs ? ` (then a ${formatDelay(r.delayMs)} delay)` : '';
        if (r.event.fired) {
          return [
            `- Event ${r.event.event} fired in sequence ${seq.sequence}${delay}, yet no task was created: ` +
              'the run stopped before acting on it, or the flow changed since.',
          ];
        }
        return [
          `- It waits for event ${r.event.event}${delay}, which has not fired in sequence ${seq.sequence}.`,
          ...this.event(r.event, d, seq.sequence).map((line) => `    ${line}`),
        ];
      }
      case 'delay':
        return [
          `- Event ${r.event} fired; the delay before ${r.targets.join(', ')} is pending, due ${formatTime(r.dueAt)} ` +
            `(${relative(r.dueAt, this.now)}).` +
            (d.runStatus === 'running' ? '' : " Continue the run (runMode 'continue') once it is due."),
        ];
      case 'unacted':
        return [
          `- Event ${r.event} fired, but the run ended before acting on it: continue the run (runMode 'continue').`,
        ];
      case 'no-assoc':
        return [
          `- No assoc targets ${d.step}: nothing in the flow starts it. Add one with addAssoc(event, step).`,
        ];
    }
  }

  /** Why an event that has not fired has not: its expression's false parts, and what fires it. */
  private event(state: EventState, d: StepDiagnosis, sequence: string): string[] {
    if (state.fired)
      return [state.unacted ? `${state.event} fired, not yet acted on.` : `${state.event} fired.`];
    if (state.elided) return [];
    const lines: string[] = [];
    if (state.expr) {
      lines.push(`${state.event} = ${formatExprState(state.expr)} is false:`);
      append(lines, exprLines(state.expr), '  ');
      for (const input of state.inputs ?? []) {
        const sub = this.event(input, d, sequence);
        if (sub.length > 0) {
          lines.push(`${input.event} has not fired:`);
          append(lines, sub, '  ');
        }
      }
    }
    for (const source of state.sources ?? []) append(lines, this.source(source, state.event, d, sequence));
    return lines;
  }

  private source(source: EventSource, event: string, d: StepDiagnosis, sequence: string): string[] {
    switch (source.kind) {
      case 'external':
        return [`nothing in the flow fires ${event}: only triggerEvent(${event}, '${sequence}') does.`];
      case 'step': {
        const head = `${source.step} fires it on ${source.status}`;
        if (!source.task) {
          return [
            `${head}; ${source.step} has no task in sequence ${sequence} ` +
              `(see: eventor why ${this.store} ${source.step} --sequence ${sequence}).`,
          ];
        }
        return [`${head}; ${taskName(source.task)} ${statusPhrase(source.task)}.`];
      }
      case 'assoc': {
        const delay = source.delayMs ? ` after ${formatDelay(source.delayMs)}` : '';
        if (source.fired) {
          if (source.delay && !source.delay.fired) {
            return [
              `an assoc from ${source.event} fires it${delay}; ${source.event} fired and the delay is due ` +
                `${formatTime(source.delay.dueAt)} (${relative(source.delay.dueAt, this.now)}).`,
            ];
          }
          return [`an assoc from ${source.event} fires it${delay}; ${source.event} fired.`];
        }
        const lines = [`an assoc from ${source.event} fires it${delay}; ${source.event} has not fired.`];
        if (source.upstream) append(lines, this.event(source.upstream, d, sequence), '  ');
        return lines;
      }
    }
  }
}

/** Adds `lines` to `into`, indented: a loop, since a spread of a long list into push() overflows the stack. */
function append(into: string[], lines: readonly string[], indent = ''): void {
  for (const line of lines) into.push(indent + line);
}

function exprLines(expr: ExprState): string[] {
  if (expr.op === 'event') return [`${mark(expr.value)} ${expr.name} ${expr.value ? 'fired' : 'not fired'}`];
  const lines: string[] = [];
  for (const item of expr.items) {
    if (item.op === 'event') append(lines, exprLines(item));
    else {
      lines.push(`${mark(item.value)} ${item.op}(…) is ${item.value}:`);
      append(lines, exprLines(item), '  ');
    }
  }
  return lines;
}

function formatExprState(expr: ExprState): string {
  if (expr.op === 'event') return expr.name;
  return `${expr.op}(${expr.items.map(formatExprState).join(', ')})`;
}

function mark(value: boolean): string {
  return value ? '✓' : '✗';
}

function task(step: string, sequence: string): string {
  return `${step}[${sequence}]`;
}

function taskName(t: TaskBrief): string {
  return task(t.step, t.sequence);
}

function statusPhrase(t: TaskBrief): string {
  if (t.status === 'success' || t.status === 'failure') return `ended ${describeStatus(t)}`;
  return t.status === 'active' ? 'is running' : `is ${describeStatus(t)}`;
}

function describeStatus(t: TaskBrief): string {
  if (t.skipped) return 'success (skipped by recovery)';
  switch (t.status) {
    case 'ready':
      return 'ready (not started)';
    case 'allocate':
      return 'waiting for resources';
    case 'fueled':
      return 'holding its resources';
    default:
      return t.status;
  }
}
