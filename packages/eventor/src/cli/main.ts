#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { StoreError } from '../errors.js';
import { printable } from '../text.js';
import { type Command, type Io, LookupError, parseOrUsage, UsageError } from './command.js';
import { graphCommand } from './graph.js';
import { runsCommand } from './runs.js';
import { showCommand } from './show.js';
import { uiCommand } from './ui.js';
import { whyCommand } from './why.js';

const COMMANDS: readonly Command[] = [runsCommand, showCommand, whyCommand, graphCommand, uiCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: eventor <command> <store> [arguments]',
    '',
    'Reads a store that an eventor or sequent run wrote (never changes it): a store file, or a',
    'PostgreSQL store, postgres://user:password@host:5432/db?schema=name (the password is never printed).',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `eventor <command> --help` for its arguments. Exit codes: 0 ok, 1 the store or what was',
    'asked for is not there, 2 bad arguments. Control characters in names, sequences and errors are',
    'shown escaped (\\x1b, \\n), so none reaches the terminal raw.',
    '',
    'Options:',
    '  -h, --help     show this help',
    '  -v, --version  print the version',
  ].join('\n');
}

/** Runs the command line `args` (without node and the script); returns the exit code. */
async function main(args: string[], io: Io): Promise<number> {
  try {
    const first = args[0];
    if (first === undefined || first.startsWith('-')) {
      const { values } = parseOrUsage('', () =>
        parseArgs({
          args,
          strict: true,
          options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
        }),
      );
      if (values.version) {
        io.out(version());
        return 0;
      }
      if (values.help) {
        io.out(mainHelp());
        return 0;
      }
      throw new UsageError('missing command');
    }
    if (first === 'help') {
      const topic = args[1];
      const command = COMMANDS.find((c) => c.name === topic);
      if (topic !== undefined && !command) throw new UsageError(`unknown command "${topic}"`);
      io.out(command ? command.help : mainHelp());
      return 0;
    }
    const command = COMMANDS.find((c) => c.name === first);
    if (!command) throw new UsageError(`unknown command "${first}"`);
    return await command.run(args.slice(1), io);
  } catch (error) {
    if (error instanceof UsageError) {
      const where = error.command ? `eventor ${error.command}` : 'eventor';
      const known = error.command ? '' : ` Commands: ${COMMANDS.map((c) => c.name).join(', ')}.`;
      io.err(
        `${where}: ${printable(error.message.replace(/\.$/, ''))}.${known}\nRun \`${where} --help\` for usage.`,
      );
      return 2;
    }
    if (error instanceof StoreError || error instanceof LookupError) {
      // the message quotes names read from the store or typed by the user: escape what a terminal acts on
      io.err(`eventor: ${printable(error.message)}`);
      return 1;
    }
    throw error;
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function processIo(): Io {
  const stdout = process.stdout;
  const isTTY = stdout.isTTY === true;
  return {
    out: (text) => stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    isTTY,
    columns: isTTY ? stdout.columns : undefined,
    color: isTTY && process.env.NO_COLOR === undefined,
    now: Date.now(),
  };
}

// stdout piped into `head` closes early; that is not an error worth a stack trace
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2), processIo());
