import { FlowConfigError, StoreError } from '../errors.js';
import { openReader } from '../inspect/open-reader.js';
import type { Reader } from '../inspect/reader.js';
import type { RunRow } from '../store/types.js';
import { shellWord } from '../text.js';

/** What every command's help says of its <store> argument. */
export const STORE_HELP = `<store> is a store file's path, or a PostgreSQL store's URL: postgres://user:password@host:5432/db,
with ?schema=name when its Postgres schema is not flow (quote the URL in a shell). A password in the
URL is never printed.`;

/** Where a command writes, and what it knows about the terminal. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: tables may be cut to its width and statuses coloured. */
  isTTY: boolean;
  columns: number | undefined;
  color: boolean;
  now: number;
}

export interface Command {
  name: string;
  /** One line for `eventor --help`. */
  summary: string;
  /** The full `eventor <name> --help` text. */
  help: string;
  run(args: string[], io: Io): number | Promise<number>;
}

/** Bad arguments: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The arguments were fine but the store does not have what was asked for: exit code 1. */
export class LookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LookupError';
  }
}

/** Calls node:util parseArgs and turns its errors into a UsageError naming the command. */
export function parseOrUsage<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError((error as Error).message, command);
    }
    throw error;
  }
}

/** Checks the positional arguments' count against what the command takes. */
export function positionals(
  command: string,
  given: readonly string[],
  names: { required: readonly string[]; optional?: readonly string[] },
): string[] {
  const optional = names.optional ?? [];
  if (given.length < names.required.length) {
    const missing = names.required.slice(given.length).map((name) => `<${name}>`);
    throw new UsageError(`missing ${missing.join(' and ')}`, command);
  }
  if (given.length > names.required.length + optional.length) {
    const extra = given.slice(names.required.length + optional.length);
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(' ')}`, command);
  }
  return [...given];
}

/**
 * Opens the store a command names read-only: a file path or a postgres: URL. A URL that cannot be
 * read is a UsageError (exit 2); a store that is not there a StoreError (exit 1).
 */
export function openStore(command: string, store: string): Reader {
  try {
    return openReader(store, '<store>');
  } catch (error) {
    if (error instanceof FlowConfigError) throw new UsageError(error.message, command);
    throw error;
  }
}

/** The run named `runId`, or the latest run; LookupError listing the runs when it is not there. */
export function findRun(reader: Reader, runId: string | undefined): RunRow {
  const run = runId === undefined ? reader.latestRun() : reader.getRun(runId);
  if (run) return run;
  if (runId === undefined) {
    throw new LookupError(`The store at "${reader.location}" has no runs yet.`);
  }
  const known = reader
    .listRuns()
    .slice(-5)
    .map((r) => r.id);
  throw new LookupError(
    `No run "${runId}" in the store at "${reader.location}". ` +
      (known.length > 0
        ? `Latest runs: ${known.join(', ')} (see \`eventor runs ${shellWord(reader.location)}\`).`
        : 'It has no runs yet.'),
  );
}

/** Parses a non-negative integer option value, or throws a UsageError naming the option. */
export function integerArg(command: string, option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`--${option} takes a whole number >= 0; got "${value}"`, command);
  }
  return Number(value);
}

export function isStoreError(error: unknown): error is StoreError {
  return error instanceof StoreError;
}
