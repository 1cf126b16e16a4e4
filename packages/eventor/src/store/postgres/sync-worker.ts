/**
 * The worker thread behind a PostgreSQL store's synchronous calls (see sync-bridge.ts): it owns one
 * pg client and runs each request's queries in order, answering on its port and then waking the
 * main thread, which blocks on the shared flag meanwhile. It knows nothing of flow: SQL in, rows out.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import type { Client, QueryConfig } from 'pg';
import { type ConnectionSettings, clientConfig } from './connection.js';
import { isConnectionLoss } from './retry.js';

export interface SyncRequest {
  id: number;
  /** Queries run one after another; the first failure ends the request. `close` ends the client. */
  queries: QueryConfig[];
  close?: boolean;
  /**
   * How long a lost connection is tried again (0: not at all). A request is sent again on a new
   * connection only if nothing of it reached the server, or if it is `safe` to run twice; never
   * one that goes on with a transaction an earlier request began.
   */
  retryMs?: number;
  safe?: boolean;
}

export type SyncResponse =
  | { id: number; ok: true; results: Array<{ rows: Record<string, unknown>[]; rowCount: number | null }> }
  | { id: number; ok: false; error: CrossedError };

/** An error as it crosses back: what the store's error messages read from pg's and Node's errors. */
export interface CrossedError {
  name: string;
  message: string;
  stack?: string | undefined;
  code?: string | undefined;
  detail?: string | undefined;
  hint?: string | undefined;
}

interface WorkerInput {
  settings: ConnectionSettings;
  flag: SharedArrayBuffer;
  port: MessagePort;
}

const { settings, flag, port } = workerData as WorkerInput;
const signal = new Int32Array(flag);
let client: Client | undefined;
let broken = false;
/** Between a BEGIN and its COMMIT or ROLLBACK, which may come in later requests. */
let inTransaction = false;

async function connected(): Promise<Client> {
  if (client !== undefined && !broken) return client;
  const previous = client;
  client = undefined;
  broken = false;
  previous?.end().catch(() => {});
  const { default: pg } = await import('pg');
  const next = new pg.Client(clientConfig(pg, settings));
  // a connection lost while idle (the server restarted): the next request connects again
  next.on('error', () => {
    broken = true;
  });
  await next.connect();
  client = next;
  return next;
}

async function serve(request: SyncRequest): Promise<SyncResponse> {
  if (request.close) {
    await client?.end().catch(() => {});
    client = undefined;
    return { id: request.id, ok: true, results: [] };
  }
  const goesOn = inTransaction;
  let deadline: number | undefined;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
    const attempt = { sent: false };
    try {
      return { id: request.id, ok: true, results: await runQueries(request, attempt) };
    } catch (error) {
      if (isConnectionError(error)) broken = true;
      const again = isConnectionLoss(error) && !goesOn && (request.safe === true || !attempt.sent);
      if (again) inTransaction = false; // a transaction this request began went with its connection
      deadline ??= Date.now() + (request.retryMs ?? 0);
      const left = deadline - Date.now();
      if (!again || left <= 0) return { id: request.id, ok: false, error: cross(error) };
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    }
  }
}

async function runQueries(
  request: SyncRequest,
  attempt: { sent: boolean },
): Promise<Array<{ rows: Record<string, unknown>[]; rowCount: number | null }>> {
  if (inTransaction && broken) {
    // a new connection must not run the rest of a transaction the old one lost: only its ROLLBACK
    if (request.queries[0]?.text === 'ROLLBACK') {
      inTransaction = false;
      return [];
    }
    throw Object.assign(new Error('the connection to the server was lost in the middle of a transaction'), {
      code: '08006',
    });
  }
  const db = await connected();
  const results: Array<{ rows: Record<string, unknown>[]; rowCount: number | null }> = [];
  for (const query of request.queries) {
    if (query.text === 'BEGIN') inTransaction = true;
    attempt.sent = true;
    const result = await db.query({ ...query, values: query.values?.map(asBuffer) });
    if (query.text === 'COMMIT' || query.text === 'ROLLBACK') inTransaction = false;
    results.push({ rows: result.rows, rowCount: result.rowCount });
  }
  return results;
}

/** A Buffer crosses threads as a plain Uint8Array; pg writes only a Buffer as bytea. */
function asBuffer(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value)
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : value;
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code.startsWith('57')
  );
}

function cross(error: unknown): CrossedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const { code, detail, hint } = error as Error & { code?: unknown; detail?: unknown; hint?: unknown };
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    code: typeof code === 'string' ? code : undefined,
    detail: typeof detail === 'string' ? detail : undefined,
    hint: typeof hint === 'string' ? hint : undefined,
  };
}

function answer(response: SyncResponse): void {
  port.postMessage(response);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

// one request at a time: the main thread sends the next only after it read this one's answer
port.on('message', (request: SyncRequest) => {
  void serve(request).then(answer);
});
answer({ id: 0, ok: true, results: [] }); // up
