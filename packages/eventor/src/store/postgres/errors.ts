/** PostgreSQL's and the driver's failures as StoreError messages that name the cause and what to do. */
import { formatMs } from '../../duration.js';
import { FlowError, StoreError } from '../../errors.js';
import { isConnectionLoss } from './retry.js';

/** Node's codes for a server that cannot be reached, and SQLSTATE classes of a lost connection. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** pg itself is not installed: it is an optional peer dependency, loaded only for a PostgreSQL store. */
export function isMissingDriver(error: unknown): boolean {
  const code = codeOf(error);
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && /['"]pg['"]/.test(messageOf(error))
  );
}

export function missingDriverError(location: string, cause: unknown): StoreError {
  return new StoreError(
    `The store "${location}" is a PostgreSQL database, and its driver, the package "pg", is not installed ` +
      '(it is an optional peer dependency of @flow/eventor). Install it next to @flow/eventor: `pnpm add pg` ' +
      '(or `npm install pg`).',
    { cause, code: 'FLOW_STORE_DRIVER' },
  );
}

/** A failure while opening: the server, the database, the login or the rights are at fault. */
export function openError(error: unknown, location: string, schema: string): StoreError {
  if (error instanceof StoreError) return error;
  if (isMissingDriver(error)) return missingDriverError(location, error);
  const code = codeOf(error);
  const message = messageOf(error);
  let cause: string;
  if (
    (code !== undefined && UNREACHABLE.has(code)) ||
    /timeout expired|Connection terminated/i.test(message)
  ) {
    cause =
      'no PostgreSQL server answered there. Check that the server runs and that the URL names the right host and port';
  } else if (code === '3D000') {
    cause =
      'that database does not exist on the server. Create it (e.g. `createdb <name>`), or name another database in the URL';
  } else if (code === '28P01' || code === '28000') {
    cause = 'the server refused the login. Check the user and password in the URL (and pg_hba.conf)';
  } else if (code === '42501') {
    cause =
      `the user may not create or use the Postgres schema "${schema}". Grant it (GRANT CREATE ON DATABASE …, or ` +
      `GRANT USAGE, CREATE ON SCHEMA ${schema} …), or name a schema it owns with ?schema=name`;
  } else if (code === '55P03') {
    cause =
      'another process held a lock on the store for longer than busyTimeout; give the Eventor a longer `busyTimeout`';
  } else cause = 'PostgreSQL refused it. Is the URL right, and the server a PostgreSQL server?';
  return new StoreError(`Cannot open the store at "${location}" (${describe(error)}): ${cause}.`, {
    cause: error,
    code: 'FLOW_STORE_OPEN',
  });
}

/**
 * A failure once the store is open, as a StoreError; a FlowError passes through unchanged.
 * `retriedMs`: how long a lost connection was tried again before this.
 */
export function asStoreError(
  error: unknown,
  location: string,
  busyTimeoutMs?: number,
  retriedMs = 0,
): unknown {
  if (error instanceof FlowError) return error;
  if (isMissingDriver(error)) return missingDriverError(location, error);
  const code = codeOf(error);
  let cause: string;
  if (isConnectionLoss(error) || code?.startsWith('57P')) {
    const tried = retriedMs > 0 ? ` and did not come back within ${formatMs(retriedMs)} (leaseTtl)` : '';
    cause =
      `the connection to the server was lost (it stopped, restarted, or the network failed)${tried}; what was committed is kept: ` +
      'once it is back, recover or continue the run';
  } else if (code === '55P03') {
    const waited = busyTimeoutMs === undefined ? '' : ` (${formatMs(busyTimeoutMs)})`;
    cause =
      `another process held a lock on the store for longer than busyTimeout${waited}; ` +
      "give the Eventor a longer `busyTimeout` (e.g. '2m'), or make the other process commit sooner";
  } else if (code === '53100')
    cause = "the server's disk is full; free some space, then recover or continue the run";
  else if (code === '42P01' || code === '42703') {
    cause =
      'the store is damaged: a table or column of the flow schema is missing. Restore it, or use another schema';
  } else if (code === '42501') cause = "the user lacks the rights on the store's tables; grant them";
  else cause = 'PostgreSQL refused the operation';
  return new StoreError(`The store at "${location}" failed (${describe(error)}): ${cause}.`, {
    cause: error,
    code: 'FLOW_STORE_FAILED',
  });
}

function describe(error: unknown): string {
  const code = codeOf(error);
  return code === undefined ? messageOf(error) : `${code}: ${messageOf(error)}`;
}
