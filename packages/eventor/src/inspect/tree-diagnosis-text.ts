/** `eventor why`'s answer for a node of a run's tree as indented text, for the CLI and the web UI. */
import type { StepStatus } from '../model/status.js';
import { formatDelay, formatTime, printable, relative } from '../text.js';
import { renderReason } from './diagnosis-text.js';
import { type NodeState, STATE_WORDS } from './tree.js';
import type {
  NodeRunDiagnosis,
  RequirementGroupState,
  RequirementItemState,
  RequirementState,
  TreeDiagnosis,
  TreeReason,
} from './tree-diagnose.js';

export function renderTreeDiagnosis(d: TreeDiagnosis, storePath: string, now: number): string {
  const what = d.kind === 'leaf' ? 'Step' : 'Container';
  const out: string[] = [
    `${what} ${d.node} in run ${d.runId} (${d.name}), recovery ${d.recovery}, ${d.runStatus}.`,
  ];
  if (d.note !== undefined) out.push('', `${d.node}: ${d.note}.`);
  const text = new TreeText(d, storePath, now);
  for (const run of d.runs) {
    out.push('');
    const where = run.iterationOf === undefined ? '' : ` in iteration ${run.sequence} of ${run.iterationOf}`;
    out.push(`${d.node}[${run.sequence}]${where}: ${HEADLINES[run.verdict]}`);
    for (const reason of run.reasons) for (const line of text.reason(reason, run)) out.push(`  ${line}`);
  }
  if (d.moreSequences > 0) {
    out.push('', `… and ${d.moreSequences} more sequence(s); pass --sequence S to explain one of them.`);
  }
  return out.map(printable).join('\n');
}

const HEADLINES: Record<NodeRunDiagnosis['verdict'], string> = {
  ran: 'it ran.',
  running: 'it is running.',
  waiting: 'it is waiting to start.',
  'not-started': 'it has not run.',
  'will-not-run': 'it will not run.',
};

const VERBS: Record<StepStatus, string> = {
  success: 'to succeed',
  failure: 'to fail',
  complete: 'to finish (success or failure)',
  active: 'to start',
  ready: 'to be ready to start',
};

const PHRASES: Record<NodeState, string> = {
  success: 'succeeded',
  skipped: 'succeeded (skipped by recovery)',
  failure: 'failed',
  active: 'is running',
  waiting: 'is waiting to start',
  dead: 'will not run',
  'not-started': 'has not run yet',
};

class TreeText {
  constructor(
    private readonly d: TreeDiagnosis,
    private readonly store: string,
    private readonly now: number,
  ) {}

  reason(reason: TreeReason, run: NodeRunDiagnosis): string[] {
    switch (reason.kind) {
      case 'step':
        return renderReason(
          reason.reason,
          { step: this.d.node, runStatus: this.d.runStatus },
          run.sequence,
          this.store,
          this.now,
        );
      case 'requires':
        return this.requirement(reason.requirement);
      case 'container': {
        const head =
          reason.state === 'dead'
            ? `- Its container ${reason.container} will not run in sequence ${reason.sequence}:`
            : `- Its container ${reason.container} has not started in sequence ${reason.sequence}:`;
        const lines = [head];
        for (const inner of reason.reasons) {
          for (const line of this.reason(inner, { ...run, sequence: reason.sequence }))
            lines.push(`    ${line}`);
        }
        return lines;
      }
      case 'iteration': {
        const head = `- Iteration ${reason.sequence} of ${reason.container} has not started`;
        const previous = reason.previous;
        if (previous === undefined) {
          return [
            `${head}: ${reason.container} ${PHRASES[reason.containerState]}, waiting for its resources or a free slot.`,
          ];
        }
        if (previous.state === 'failure') {
          return [
            `${head}: iteration ${previous.sequence} failed, so ${reason.container} starts no further iteration.`,
          ];
        }
        if (previous.state === 'success') {
          return [
            `${head}: iteration ${previous.sequence} ended well, but the run ended (${this.d.runStatus}) before the next one started.`,
          ];
        }
        return [
          `${head}: iteration ${previous.sequence} ${previous.state === 'active' ? 'is still running' : 'has not started either'}.`,
        ];
      }
      case 'delay':
        return [
          `- Its requirements hold; its delay${reason.delayMs ? ` of ${formatDelay(reason.delayMs)}` : ''} is pending` +
            (reason.dueAt === undefined
              ? '.'
              : `, due ${formatTime(reason.dueAt)} (${relative(reason.dueAt, this.now)}).`) +
            (this.d.runStatus === 'running' ? '' : " Continue the run (runMode 'continue') once it is due."),
        ];
      case 'starting':
        return [
          reason.runStatus === 'running'
            ? "- Its requirements hold: it starts in the run's next pass."
            : `- Its requirements hold, but the run ended (${reason.runStatus}) before it started: continue the run (runMode 'continue') to start it.`,
        ];
      case 'iterations': {
        const ended = reason.state === 'success' || reason.state === 'failure' || reason.state === 'skipped';
        const status = ended ? `It ended ${STATE_WORDS[reason.state]}` : `It ${PHRASES[reason.state]}`;
        return [`- ${status}${reason.text === '' ? '.' : `: ${reason.text}.`}`];
      }
    }
  }

  private requirement(req: RequirementState): string[] {
    if ('node' in req) return [`- It waits for ${this.item(req)}.`];
    const lines = [`- It waits for ${req.op === 'and' ? 'all' : 'any'} of these:`];
    for (const line of this.group(req)) lines.push(`    ${line}`);
    return lines;
  }

  private group(req: RequirementGroupState): string[] {
    const lines: string[] = [];
    for (const item of req.items) {
      if ('node' in item) lines.push(`${mark(item.value)} ${this.item(item)}`);
      else {
        lines.push(`${mark(item.value)} ${item.op === 'and' ? 'all' : 'any'} of these:`);
        for (const line of this.group(item)) lines.push(`  ${line}`);
      }
    }
    return lines;
  }

  /** "batch_extract to succeed in iteration 1.2: batch_extract[1.2] failed, so it never will". */
  private item(req: RequirementItemState): string {
    const where =
      req.iterationOf === undefined || req.sequence === undefined ? '' : ` in iteration ${req.sequence}`;
    const task = req.sequence === undefined ? req.node : `${req.node}[${req.sequence}]`;
    const state = `${task} ${PHRASES[req.state]}`;
    const tail = req.value === false ? ', so it never will' : '';
    return `${req.node} ${VERBS[req.status]}${where}: ${state}${tail}`;
  }
}

function mark(value: boolean | undefined): string {
  return value === true ? '✓' : value === false ? '✗' : '…';
}
