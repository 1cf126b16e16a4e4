/** Plain-text helpers the commands share: tables, durations, times, colours. */

import { formatDuration, pad2, printable, truncate, visibleLength } from '../text.js';

export { formatDuration, printable, printableJson, truncate } from '../text.js';

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
}

/**
 * Lays rows out under their headers, columns two spaces apart. With `maxWidth`, the last column is
 * cut (with an ellipsis) so lines fit a terminal; colours in cells do not count towards widths.
 */
export function table(columns: readonly Column[], rows: ReadonlyArray<readonly string[]>, maxWidth?: number) {
  // a loop, not Math.max(...cells): a run's rows are unbounded and a spread of them overflows the stack
  const widths = columns.map((column) => visibleLength(column.header));
  for (const row of rows) {
    for (let i = 0; i < widths.length; i++)
      widths[i] = Math.max(widths[i] as number, visibleLength(row[i] ?? ''));
  }
  const line = (cells: readonly string[]) => {
    const parts = columns.map((column, i) => {
      const cell = cells[i] ?? '';
      if (i === columns.length - 1 && column.align !== 'right') return cell;
      const pad = ' '.repeat((widths[i] as number) - visibleLength(cell));
      return column.align === 'right' ? pad + cell : cell + pad;
    });
    const text = parts.join('  ').trimEnd();
    return maxWidth !== undefined ? truncate(text, maxWidth) : text;
  };
  const lines = [line(columns.map((column) => column.header))];
  for (const row of rows) lines.push(line(row));
  return lines.join('\n');
}

/** A delay as written in a flow: '250ms', '10s', '1.5m', '6h', '1d'. */
export function formatDelay(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [unit, size] of units) {
    if (ms >= size && Number.isInteger((ms / size) * 10)) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Local time, to the second: 2026-11-22 10:04:05. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

/** "in 9s" / "9s ago" relative to `now`. */
export function relative(ms: number, now: number): string {
  const delta = ms - now;
  return delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

export function firstLine(text: string): string {
  const end = text.indexOf('\n');
  return end < 0 ? text : text.slice(0, end);
}

/**
 * The first line of a task's error message. A step failure's message starts with the step and the
 * sequence, which may hold newlines themselves: the cut falls after them, so it keeps the cause.
 */
export function errorHeadline(message: string, task: { step: string; sequence: string }): string {
  const prefix = `Step "${task.step}" failed in sequence "${task.sequence}": `;
  if (message.startsWith(prefix)) return prefix + firstLine(message.slice(prefix.length));
  return firstLine(message);
}

const RESET = '\x1b[0m';
const STATUS_COLOURS: Record<string, string> = {
  success: '\x1b[32m',
  skipped: '\x1b[36m',
  failure: '\x1b[31m',
  interrupted: '\x1b[33m',
  incomplete: '\x1b[33m',
  active: '\x1b[33m',
  running: '\x1b[33m',
  ready: '\x1b[34m',
  allocate: '\x1b[34m',
  fueled: '\x1b[34m',
};

/** Colours a status word when `enabled` (stdout is a terminal and NO_COLOR is unset); escapes it either way. */
export function paint(status: string, text: string, enabled: boolean): string {
  const colour = STATUS_COLOURS[status];
  return enabled && colour ? `${colour}${printable(text)}${RESET}` : printable(text);
}
