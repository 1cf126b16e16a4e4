/** Text for terminals, shared by the presentations (cli, progress, ui): escaping, widths, durations, times. */

/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC, BEL, newline, ...), DEL, C1
 * controls (U+0080-U+009F; U+009B is CSI on some terminals) and the bidi and line-separator marks
 * that reorder or break what follows. Built from a string: a control character in a regex literal
 * reads as a typo.
 */
const BEYOND_C0 = '\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
const UNPRINTABLE = new RegExp(`[\\u0000-\\u001f${BEYOND_C0}]`, 'g');
/** The same set minus what JSON.stringify escapes already (C0). */
const UNPRINTABLE_IN_JSON = new RegExp(`[${BEYOND_C0}]`, 'g');

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * `text` with every unprintable character written out as an escape (`\x1b`, `\n`, `\x07`, `\u202e`),
 * so a name or an error message read from a store cannot move the cursor, retitle or clear the
 * terminal, or break a table's line. Backslashes are left as they are: the point is that nothing
 * reaches the terminal raw, not that the escaping can be reversed.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => SHORT[char] ?? hexEscape(char));
}

/** JSON text of `value`, with the unprintable characters JSON leaves raw escaped as `\uXXXX`. */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    UNPRINTABLE_IN_JSON,
    (char) => `\\u${(char.codePointAt(0) as number).toString(16).padStart(4, '0')}`,
  );
}

/** `text` as one word of a shell command line: as it is when it is plain, else in single quotes. */
export function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function hexEscape(char: string): string {
  const code = char.codePointAt(0) as number;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

const ESC = '\x1b';
/** SGR colour codes, the only escape sequences the presentations write into text themselves. */
const ANSI = new RegExp(`${ESC}\\[[0-9;]*m`, 'g');
const ANSI_AT_START = new RegExp(`^${ESC}\\[[0-9;]*m`);
const RESET = '\x1b[0m';

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

export function pad2(n: number): string {
  return String(n).padStart(2, '0');
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
