/**
 * The worker thread behind the synchronous calls of a process's PostgreSQL stores (see
 * sync-bridge.ts): one thread for all of them, a pg client per store (a session), each request's
 * queries run in order, answering on its port and then waking the main thread, which blocks on the
 * shared flag meanwhile. It knows nothing of flow: SQL in, rows out.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import type { Client, QueryConfig } from 'pg';
import { type ConnectionSettings, clientConfig } from './connection.js';
import { isConnectionLoss } from './retry.js';

export interface SyncRequest {
  id: number;
  /** The store the request is for: its connection, made on its first request. */
  session: number;
  settings: ConnectionSettings;
  /** Queries run one after another; the first failure ends the request. `close` ends the session. */
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
  flag: SharedArrayBuffer;
  port: MessagePort;
}

/** One store's connection, and whether it is inside a transaction (between a BEGIN and its end). */
interface Session {
  client: Client | undefined;
  inTransaction: boolean;
}

const { flag, port } = workerData as WorkerInput;
const signal = new Int32Array(flag);
const sessions = new Map<number, Session>();
/** Connections that failed (lost while idle, or in a query): never used again. */
const broken = new WeakSet<Client>();

/**
 * Connections of closed stores, for the next store of the same database and schema (a process that
 * opens store after store connects once): the latest few, each closed after a while unused.
 */
const idle: Array<{ key: string; client: Client; timer: NodeJS.Timeout }> = [];
const IDLE_MS = 10_000;
const IDLE_KEPT = 4;

function drop(entry: { client: Client; timer: NodeJS.Timeout }): void {
  clearTimeout(entry.timer);
  entry.client.end().catch(() => {});
}

function keep(client: Client, settings: ConnectionSettings): void {
  if (broken.has(client)) {
    client.end().catch(() => {});
    return;
  }
  const entry = {
    key: JSON.stringify(settings),
    client,
    timer: setTimeout(() => {
      const index = idle.indexOf(entry);
      if (index >= 0) drop(idle.splice(index, 1)[0] as typeof entry);
    }, IDLE_MS),
  };
  idle.push(entry);
  if (idle.length > IDLE_KEPT) drop(idle.shift() as typeof entry);
}

function reuse(settings: ConnectionSettings): Client | undefined {
  const key = JSON.stringify(settings);
  for (let index = idle.length - 1; index >= 0; index -= 1) {
    const entry = idle[index];
    if (entry?.key !== key) continue;
    idle.splice(index, 1);
    clearTimeout(entry.timer);
    if (!broken.has(entry.client)) return entry.client;
    entry.client.end().catch(() => {});
  }
  return undefined;
}

async function connected(session: Session, settings: ConnectionSettings): Promise<Client> {
  if (session.client !== undefined && !broken.has(session.client)) return session.client;
  session.client?.end().catch(() => {});
  session.client = reuse(settings);
  if (session.client !== undefined) return session.client;
  const { default: pg } = await import('pg');
  const next = new pg.Client(clientConfig(pg, settings));
  // a connection lost while idle (the server restarted): the next request connects again
  next.on('error', () => broken.add(next));
  await next.connect();
  session.client = next;
  return next;
}

async function serve(request: SyncRequest): Promise<SyncResponse> {
  let session = sessions.get(request.session);
  if (request.close) {
    sessions.delete(request.session);
    if (session?.client !== undefined) {
      if (session.inTransaction) await session.client.end().catch(() => {});
      else keep(session.client, request.settings);
    }
    return { id: request.id, ok: true, results: [] };
  }
  if (session === undefined) {
    session = { client: undefined, inTransaction: false };
    sessions.set(request.session, session);
  }
  const goesOn = session.inTransaction;
  let deadline: number | undefined;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
    const attempt = { sent: false };
    try {
      return { id: request.id, ok: true, results: await runQueries(session, request, attempt) };
    } catch (error) {
      if (isConnectionError(error) && session.client !== undefined) broken.add(session.client);
      const again = isConnectionLoss(error) && !goesOn && (request.safe === true || !attempt.sent);
      if (again) session.inTransaction = false; // a transaction this request began went with its connection
      deadline ??= Date.now() + (request.retryMs ?? 0);
      const left = deadline - Date.now();
      if (!again || left <= 0) return { id: request.id, ok: false, error: cross(error) };
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, left)));
    }
  }
}

async function runQueries(
  session: Session,
  request: SyncRequest,
  attempt: { sent: boolean },
): Promise<Array<{ rows: Record<string, unknown>[]; rowCount: number | null }>> {
  if (session.inTransaction && (session.client === undefined || broken.has(session.client))) {
    // a new connection must not run the rest of a transaction the old one lost: only its ROLLBACK
    if (request.queries[0]?.text === 'ROLLBACK') {
      session.inTransaction = false;
      return [];
    }
    throw Object.assign(new Error('the connection to the server was lost in the middle of a transaction'), {
      code: '08006',
    });
  }
  const db = await connected(session, request.settings);
  const results: Array<{ rows: Record<string, unknown>[]; rowCount: number | null }> = [];
  for (const query of request.queries) {
    if (query.text === 'BEGIN') session.inTransaction = true;
    attempt.sent = true;
    const result = await db.query({ ...query, values: query.values?.map(asBuffer) });
    if (query.text === 'COMMIT' || query.text === 'ROLLBACK') session.inTransaction = false;
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
