/** `eventor why`'s diagnosis as indented text, for the CLI and the web UI. */

import { errorHeadline, formatDelay, formatTime, printable, relative } from '../text.js';
import type {
  EventSource,
  EventState,
  ExprState,
  Reason,
  SequenceDiagnosis,
  StepDiagnosis,
  TaskBrief,
} from './diagnose.js';

/** The diagnosis as indented text. */
export function renderDiagnosis(d: StepDiagnosis, storePath: string, now: number): string {
  const out: string[] = [
    `Step ${d.step} in run ${d.runId} (${d.name}), recovery ${d.recovery}, ${d.runStatus}.`,
  ];
  const render = new Renderer(storePath, now);
  for (const seq of d.sequences) {
    out.push('');
    out.push(`${task(d.step, seq.sequence)}: ${headline(seq)}`);
    for (const reason of seq.reasons) append(out, render.reason(reason, d, seq.sequence), '  ');
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

/** What a reason's text needs of its diagnosis. */
export type ReasonContext = Pick<StepDiagnosis, 'step' | 'runStatus'>;

/** One reason of a step's diagnosis in `sequence`, as the lines `renderDiagnosis` gives it. */
export function renderReason(
  reason: Reason,
  d: ReasonContext,
  sequence: string,
  storePath: string,
  now: number,
): string[] {
  return new Renderer(storePath, now).reason(reason, d, sequence);
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

  reason(r: Reason, d: ReasonContext, sequence: string): string[] {
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
            `- Event ${r.event.event} fired in sequence ${sequence}${delay}, yet no task was created: ` +
              'the run stopped before acting on it, or the flow changed since.',
          ];
        }
        return [
          `- It waits for event ${r.event.event}${delay}, which has not fired in sequence ${sequence}.`,
          ...this.event(r.event, d, sequence).map((line) => `    ${line}`),
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
  private event(state: EventState, d: ReasonContext, sequence: string): string[] {
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

  private source(source: EventSource, event: string, d: ReasonContext, sequence: string): string[] {
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
    default:
      return t.status;
  }
}
