/** Plain-text helpers the commands share: tables, durations, times, colours. */

import { printable, truncate, visibleLength } from '../text.js';

export {
  errorHeadline,
  firstLine,
  formatDelay,
  formatDuration,
  formatTime,
  printable,
  printableJson,
  relative,
  shellWord,
  truncate,
} from '../text.js';

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
};

/** Colours a status word when `enabled` (stdout is a terminal and NO_COLOR is unset); escapes it either way. */
export function paint(status: string, text: string, enabled: boolean): string {
  const colour = STATUS_COLOURS[status];
  return enabled && colour ? `${colour}${printable(text)}${RESET}` : printable(text);
}
