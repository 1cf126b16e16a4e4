import { parseArgs } from 'node:util';
import { StoreError } from '../errors.js';
import { printable } from '../text.js';
import { startUi } from '../ui/server.js';
import {
  type Command,
  type Io,
  integerArg,
  openStore,
  parseOrUsage,
  positionals,
  STORE_HELP,
  UsageError,
} from './command.js';

const HELP = `Usage: eventor ui <store> [--port 4807] [--host 127.0.0.1]

${STORE_HELP}

Serves a read-only web view of the store's runs: the runs (newest first, filtered by name and
status), and for each run its flow graph coloured by status (a sequent run as its tree, with a
toggle to the eventor graph), its tasks, its recoveries side by side and why a step has not run (as
\`eventor why\`). The page updates by itself while a run goes on (a file is checked every 200 ms
while a page is open; PostgreSQL tells of each commit: LISTEN).
It never writes to the store. Stop it with Ctrl-C.

Options:
  --port N     the port to listen on (default 4807; 0 picks a free one)
  --host H     the address to listen on (default 127.0.0.1, this machine only)
  -h, --help   show this help`;

export const uiCommand: Command = {
  name: 'ui',
  summary: "serve a read-only, live web view of the store's runs (graph, tasks, why)",
  help: HELP,
  run(args: string[], io: Io): number {
    const { values, positionals: given } = parseOrUsage('ui', () =>
      parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: {
          port: { type: 'string', short: 'p' },
          host: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    const [store] = positionals('ui', given, { required: ['store'] }) as [string];
    const port = integerArg('ui', 'port', values.port) ?? 4807;
    if (port > 65535) throw new UsageError(`--port takes a port number up to 65535; got ${port}`, 'ui');
    const host = values.host ?? '127.0.0.1';
    // fail here, with exit code 1, when the store cannot be read
    const reader = openStore('ui', store);
    const location = reader.location;
    reader.close();
    startUi({ store, port, host }).then(
      (ui) => {
        io.out(`eventor ui: serving ${printable(location)} (read-only) at ${ui.url}`);
        const stop = (): void => {
          void ui.close().then(() => process.exit(0));
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      },
      (error: NodeJS.ErrnoException) => {
        if (error instanceof StoreError) {
          io.err(`eventor: ${printable(error.message)}`);
          process.exitCode = 1;
          return;
        }
        const hint =
          error.code === 'EADDRINUSE'
            ? ` Port ${port} is taken: pass another with --port (0 picks a free one).`
            : '';
        io.err(`eventor ui: cannot listen on ${host}:${port}: ${error.message}.${hint}`);
        process.exitCode = 1;
      },
    );
    return 0;
  },
};
