import { describeThrown } from './describe.js';

/** Any pino-like logger: each method takes (fields, message) or (message). */
export interface Logger {
  debug(obj: unknown, msg?: string): void;
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type Method = Exclude<LogLevel, 'silent'>;

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
export const LOG_LEVELS = Object.keys(LEVEL_RANK) as LogLevel[];

export type LogFields = Record<string, unknown>;

/** The default sink: one readable line per record on stderr. */
export const consoleLogger: Logger = {
  debug: (obj, msg) => writeConsole('debug', obj, msg),
  info: (obj, msg) => writeConsole('info', obj, msg),
  warn: (obj, msg) => writeConsole('warn', obj, msg),
  error: (obj, msg) => writeConsole('error', obj, msg),
};

function writeConsole(level: Method, obj: unknown, msg?: string): void {
  const time = new Date().toISOString();
  let text: string;
  if (typeof obj === 'string') text = obj;
  else {
    const fields = obj as LogFields;
    const context = ['step', 'sequence', 'stream']
      .filter((key) => fields[key] !== undefined)
      .map((key) => `${key}=${String(fields[key])}`)
      .join(' ');
    text = context ? `[${context}] ${msg ?? ''}` : (msg ?? '');
    const err = fields.err;
    if (err instanceof Error && level === 'error') {
      // the step's own stack says where the user's code failed; the wrapper's would point at the engine
      const origin = err.cause instanceof Error ? err.cause : err;
      text += `\n${origin.stack ?? origin.message}`;
    }
  }
  console.error(`${time} ${level.toUpperCase().padEnd(5)} ${text}`);
}

/**
 * A logger that filters by level and carries context fields (runId, step, sequence) as fields,
 * never inside message strings.
 */
export class ScopedLogger implements Logger {
  constructor(
    private readonly sink: Logger,
    private readonly minRank: number,
    private readonly fields: LogFields = {},
  ) {}

  static create(sink: Logger | undefined, level: LogLevel): ScopedLogger {
    return new ScopedLogger(sink ?? consoleLogger, LEVEL_RANK[level]);
  }

  child(fields: LogFields): ScopedLogger {
    return new ScopedLogger(this.sink, this.minRank, { ...this.fields, ...fields });
  }

  enabled(level: Method): boolean {
    return LEVEL_RANK[level] >= this.minRank;
  }

  debug(obj: unknown, msg?: string): void {
    this.write('debug', obj, msg);
  }
  info(obj: unknown, msg?: string): void {
    this.write('info', obj, msg);
  }
  warn(obj: unknown, msg?: string): void {
    this.write('warn', obj, msg);
  }
  error(obj: unknown, msg?: string): void {
    this.write('error', obj, msg);
  }

  private write(level: Method, obj: unknown, msg?: string): void {
    if (LEVEL_RANK[level] < this.minRank) return;
    const fields = typeof obj === 'string' ? { ...this.fields } : { ...this.fields, ...(obj as LogFields) };
    const text = typeof obj === 'string' ? obj : msg;
    try {
      const out: unknown = this.sink[level](fields, text);
      if (isThenable(out))
        out.then(undefined, (error: unknown) => sinkFailed(this.sink, level, fields, text, error));
    } catch (error) {
      sinkFailed(this.sink, level, fields, text, error);
    }
  }
}

/** Loggers that threw once: told about on stderr a single time. */
const failedSinks = new WeakSet<object>();

/**
 * A logger's failure never reaches the run: the record goes to the default logger on stderr instead
 * (and the first failure of that logger is reported there); if even that fails, it is dropped.
 */
function sinkFailed(
  sink: Logger,
  level: Method,
  fields: LogFields,
  msg: string | undefined,
  error: unknown,
): void {
  if (sink === consoleLogger) return;
  try {
    if (typeof sink === 'object' && sink !== null && !failedSinks.has(sink)) {
      failedSinks.add(sink);
      consoleLogger.warn(
        {},
        `The logger given to eventor threw in ${level}(): ${describeThrown(error)}. ` +
          'Records it fails to take are written to stderr instead; fix the logger to get them back.',
      );
    }
    consoleLogger[level](fields, msg);
  } catch {
    // stderr itself failed: there is nowhere left to write the record
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return (
      value !== null &&
      (typeof value === 'object' || typeof value === 'function') &&
      typeof (value as PromiseLike<unknown>).then === 'function'
    );
  } catch {
    return false;
  }
}
