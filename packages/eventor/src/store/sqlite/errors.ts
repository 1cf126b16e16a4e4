/** SQLite's failures as StoreError messages that name the cause and what to do. */
import { formatMs } from '../../duration.js';
import { FlowError, StoreError } from '../../errors.js';

/**
 * A failure of SQLite after the store opened (full disk, I/O error, corruption), as a StoreError
 * that names the cause and what to do. Anything else passes through unchanged.
 */
export function asStoreError(error: unknown, path: string, busyTimeoutMs?: number): unknown {
  if (error instanceof FlowError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
  const message = (error as Error).message;
  let cause: string;
  if (code === 'SQLITE_FULL') cause = 'the disk is full; free some space, then recover or continue the run';
  else if (code === 'SQLITE_IOERR_SHORT_READ') {
    // a read past the end of the file: it is shorter than its own pages say, i.e. cut off
    cause =
      'the file is corrupt: it is shorter than its pages say (truncated); restore it from a copy, or start afresh with another `store` path';
  } else if (code.startsWith('SQLITE_IOERR')) {
    cause =
      'a write failed (disk full, file size limit, or a failing device); fix it, then recover or continue the run';
  } else if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    cause = 'the file is damaged; restore it from a copy, or start afresh with another `store` path';
  } else if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY')) {
    cause = 'the file or its folder is read-only; make them writable';
  } else if (code.startsWith('SQLITE_BUSY')) {
    const waited = busyTimeoutMs === undefined ? '' : ` (${formatMs(busyTimeoutMs)})`;
    cause =
      `another process held the store's write lock for longer than busyTimeout${waited}; ` +
      "give the Eventor a longer `busyTimeout` (e.g. '2m'), or make the other process commit sooner";
  } else cause = 'SQLite refused the operation';
  return new StoreError(`The store at "${path}" failed (${code}: ${message}): ${cause}.`, {
    cause: error,
    code: 'FLOW_STORE_FAILED',
  });
}

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * better-sqlite3 loads its native module when the first database opens, so a skipped or failed
 * install build (pnpm and npm no longer run install scripts unless allowed) or a build for another
 * Node surfaces here, not at import. Says so and how to fix it; undefined for any other error.
 */
export function nativeModuleProblem(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : '';
  const code = (error as { code?: unknown } | null)?.code;
  const offline =
    'Offline, point node-gyp at the local Node headers first (`export npm_config_nodedir=/usr` when they are in /usr/include/node).';
  if (message.includes('Could not locate the bindings file')) {
    const build = /→ (.+[\\/]build)[\\/]/.exec(message)?.[1];
    return (
      "better-sqlite3's native module is missing: its install script was skipped or failed " +
      `(${build === undefined ? 'no better_sqlite3.node was found' : `nothing was built in "${build}"`}). ` +
      'The store path is not at fault. Build the module: with pnpm, `pnpm approve-builds better-sqlite3` ' +
      '(it approves the build and runs it; if better-sqlite3 was approved already, `pnpm rebuild better-sqlite3`); ' +
      'with npm, `npm rebuild better-sqlite3`, and `"allowScripts": { "better-sqlite3": true }` in package.json ' +
      `(or \`npm install-scripts approve better-sqlite3\`) so that later installs build it too. ${offline}`
    );
  }
  if (code === 'ERR_DLOPEN_FAILED' || message.includes('NODE_MODULE_VERSION')) {
    const detail = (message.split('\n')[0] ?? '').slice(0, 300).replace(/\.$/, '');
    return (
      `better-sqlite3's native module was built for another Node.js than this one (${process.version}, ` +
      `${process.platform}-${process.arch}), or is damaged (${detail}). The store path is not at fault. ` +
      `Rebuild the module for this Node: \`pnpm rebuild better-sqlite3\` or \`npm rebuild better-sqlite3\`. ${offline}`
    );
  }
  return undefined;
}
