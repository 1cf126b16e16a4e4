/** Plain-text helpers the commands share: tables, durations, times, colours. */

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
  const widths = columns.map((column, i) =>
    Math.max(visibleLength(column.header), ...rows.map((row) => visibleLength(row[i] ?? ''))),
  );
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
  return [line(columns.map((column) => column.header)), ...rows.map(line)].join('\n');
}

const ESC = '\x1b';
/** SGR colour codes; built from a string because a control character in a regex literal reads as a typo. */
const ANSI = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');
const ANSI_AT_START = new RegExp(`^${ESC}\\[[0-9;]*m`);

export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}

/** Cuts plain or coloured text to `width` visible characters, ending with '…' when cut. */
export function truncate(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  let out = '';
  let visible = 0;
  for (let i = 0; i < text.length; ) {
    const match = text.startsWith(`${ESC}[`, i) ? ANSI_AT_START.exec(text.slice(i)) : null;
    if (match) {
      out += match[0];
      i += match[0].length;
      continue;
    }
    if (visible >= width - 1) break;
    out += text[i];
    visible += 1;
    i += 1;
  }
  return `${out}…${text.includes(`${ESC}[`) ? RESET : ''}`;
}

/** 120ms, 1.2s, 3m05s, 2h03m, 1d02h. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1).replace(/\.?0+$/, '')}s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad2(seconds % 60)}s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h${pad2(Math.floor((seconds % 3600) / 60))}m`;
  return `${Math.floor(seconds / 86_400)}d${pad2(Math.floor((seconds % 86_400) / 3600))}h`;
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

function pad2(n: number): string {
  return String(n).padStart(2, '0');
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

/** Colours a status word when `enabled` (stdout is a terminal and NO_COLOR is unset). */
export function paint(status: string, text: string, enabled: boolean): string {
  const colour = STATUS_COLOURS[status];
  return enabled && colour ? `${colour}${text}${RESET}` : text;
}
