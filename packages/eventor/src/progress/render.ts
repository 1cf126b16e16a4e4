import { formatDuration, printable, truncate } from '../text.js';
import type { ProgressNode, ProgressState, Totals } from './state.js';

export interface FrameOptions {
  now: number;
  /** Terminal width; lines are cut to it so none wraps (a wrapped line would break redrawing). */
  width: number;
  /** Rows of steps at most; the rest is summed up in one line. */
  maxRows: number;
  color: boolean;
  /** Advances the spinner of running rows. */
  tick: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const YELLOW = '\x1b[33m';
const DIM = '\x1b[2m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

/** The lines of one frame: a header with totals and elapsed time, then one row per step. */
export function renderFrame(state: ProgressState, options: FrameOptions): string[] {
  const paint = (code: string, text: string) => (options.color ? `${code}${text}${RESET}` : text);
  const elapsed = (state.endedAt ?? options.now) - state.startedAt;
  const totals = state.totals();
  // counts first: on a narrow terminal the cut falls on the run id, not on what changes
  const recovery = state.recovery > 0 ? ` (recovery ${state.recovery})` : '';
  const head = state.outcome
    ? `${outcomeWord(state.outcome.status, paint)} in ${formatDuration(elapsed)} · ${countsText(totals, paint)} · run ${printable(state.runId)}${recovery}`
    : `${paint(BOLD, formatDuration(elapsed))} · ${countsText(totals, paint)} · run ${printable(state.runId)}${recovery}`;
  const lines = [head];

  const rows = state.rows();
  let shown = rows;
  if (rows.length > options.maxRows) {
    // keep the rows worth watching (running, failed) and fill up with the others, in tree order
    const keep = new Set<ProgressNode>();
    const budget = Math.max(1, options.maxRows - 1);
    for (const row of rows) {
      if (keep.size >= budget) break;
      const sum = state.sum(row);
      if (row.children.length === 0 && (sum.running > 0 || sum.failed > 0)) keep.add(row);
    }
    for (const row of rows) {
      if (keep.size >= budget) break;
      keep.add(row);
    }
    shown = rows.filter((row) => keep.has(row));
  }
  for (const row of shown) {
    const sum = state.sum(row);
    let icon: string;
    if (sum.failed > 0) icon = paint(RED, '✖');
    else if (sum.running > 0) icon = paint(YELLOW, SPINNER[options.tick % SPINNER.length] as string);
    else if (sum.done > 0) icon = paint(GREEN, '✔');
    else icon = paint(DIM, '·');
    const parts = [countsText(sum, paint, 'waiting')];
    if (sum.running > 0 && sum.since !== undefined) parts.push(formatDuration(options.now - sum.since));
    lines.push(`${'  '.repeat(row.depth + 1)}${icon} ${printable(row.label)}  ${parts.join(' · ')}`);
  }
  if (shown.length < rows.length) {
    const hidden = rows.length - shown.length;
    lines.push(paint(DIM, `  … ${hidden} more step${hidden === 1 ? '' : 's'}`));
  }
  return lines.map((line) => truncate(line, Math.max(20, options.width - 1)));
}

/** One plain line per finished task, for logs that are not a terminal. */
export function taskLine(
  state: ProgressState,
  task: { step: string; sequence: string; status: 'success' | 'failure'; skipped: boolean },
  now: number,
): string {
  const what = task.skipped ? 'skipped (success)' : task.status;
  return `[progress] ${printable(task.step)}[${printable(task.sequence)}] ${what} · ${countsText(state.totals(), plain)} · ${formatDuration(now - state.startedAt)}`;
}

export function startLine(state: ProgressState, steps: number): string {
  return `[progress] run ${printable(state.runId)}${state.recovery > 0 ? ` (recovery ${state.recovery})` : ''} started: ${steps} step${steps === 1 ? '' : 's'}`;
}

export function endLine(state: ProgressState, now: number): string {
  const status = state.outcome?.status ?? 'ended';
  return `[progress] run ${printable(state.runId)} ${printable(status)} in ${formatDuration((state.endedAt ?? now) - state.startedAt)} · ${countsText(state.totals(), plain)}`;
}

function plain(_code: string, text: string): string {
  return text;
}

function countsText(
  totals: Totals,
  paint: (code: string, text: string) => string,
  whenEmpty?: string,
): string {
  const parts: string[] = [];
  if (whenEmpty === undefined || totals.done > 0) parts.push(`${totals.done} done`);
  if (whenEmpty === undefined || totals.running > 0) parts.push(paint(YELLOW, `${totals.running} running`));
  if (whenEmpty === undefined || totals.failed > 0) parts.push(paint(RED, `${totals.failed} failed`));
  if (totals.skipped > 0) parts.push(`${totals.skipped} skipped`);
  return parts.length > 0 ? parts.join(' · ') : paint(DIM, whenEmpty ?? '');
}

function outcomeWord(status: string, paint: (code: string, text: string) => string): string {
  if (status === 'success') return paint(GREEN, 'succeeded');
  if (status === 'failure') return paint(RED, 'failed');
  return paint(YELLOW, printable(status));
}
