import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ScopedLogger } from '../../logger.js';

/** Lines kept of each stream for the result or the error. */
export const TAIL_LINES = 20;
/** A line longer than this is passed on in pieces, so output with no newline cannot grow memory. */
const MAX_LINE_CHARS = 64 * 1024;
/** A tail line is cut to this length; the logger got it whole. */
const MAX_TAIL_LINE_CHARS = 1_000;

/**
 * Splits a byte stream into lines as the bytes come: `\n` or `\r\n` ends a line, a final line
 * without a newline is still a line, and a UTF-8 character split across chunks stays whole.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (text.length === 0) return;
    const buffer = this.partial.length > 0 ? this.partial + text : text;
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf('\n', start);
      if (newline < 0) break;
      const end = newline > start && buffer.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      this.onLine(buffer.slice(start, end));
      start = newline + 1;
    }
    this.partial = start === 0 ? buffer : buffer.slice(start);
    if (this.partial.length > MAX_LINE_CHARS) {
      this.onLine(this.partial);
      this.partial = '';
    }
  }

  /** Passes on what is left: the last line when the output did not end with a newline. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.length === 0) return;
    this.onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
  }
}

/** The last `max` lines seen. */
export class LineTail {
  private lines: string[] = [];

  constructor(private readonly max = TAIL_LINES) {}

  push(line: string): void {
    this.lines.push(line.length > MAX_TAIL_LINE_CHARS ? `${line.slice(0, MAX_TAIL_LINE_CHARS)}…` : line);
    if (this.lines.length >= this.max * 4) this.lines = this.lines.slice(-this.max);
  }

  toArray(): string[] {
    return this.lines.slice(-this.max);
  }
}

export type StreamName = 'stdout' | 'stderr';

/**
 * Reads a child's stdout or stderr line by line into the logger (stdout at info, stderr at warn,
 * fields `{ stream }` on top of the step's `{ step, sequence }`) and into `tail`.
 * Resolves when the stream has ended or was destroyed.
 */
export function logLines(
  stream: Readable,
  name: StreamName,
  logger: ScopedLogger,
  tail: LineTail,
): Promise<void> {
  const level = name === 'stdout' ? 'info' : 'warn';
  const enabled = logger.enabled(level);
  const fields = { stream: name };
  const splitter = new LineSplitter((line) => {
    tail.push(line);
    if (enabled) logger[level](fields, line);
  });
  return new Promise((resolve) => {
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      splitter.end();
      resolve();
    };
    stream.on('data', (chunk: Buffer) => splitter.write(chunk));
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  });
}

/** `lines` as an indented block for an error message, or '' when there are none. */
export function formatTail(label: string, lines: readonly string[]): string {
  if (lines.length === 0) return '';
  return `; last lines of ${label}:\n  ${lines.join('\n  ')}`;
}

/** Logs a child's stdout and stderr line by line as they come, keeping the last lines of each. */
export function followOutput(child: ChildProcess, logger: ScopedLogger) {
  const stdoutTail = new LineTail();
  const stderrTail = new LineTail();
  const output = Promise.all([
    logLines(child.stdout as Readable, 'stdout', logger, stdoutTail),
    logLines(child.stderr as Readable, 'stderr', logger, stderrTail),
  ]);
  return { stdoutTail, stderrTail, output };
}
