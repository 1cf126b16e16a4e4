/**
 * Synchronous queries to PostgreSQL for the calls the public API makes synchronously (the
 * constructor's claim, triggerEvent, pending, tasks): a worker thread owns a pg client per store and
 * runs them, while this thread blocks on `Atomics.wait` until the answer is posted (the synckit way).
 * Only those calls take this path; the run loop's reads and writes go through an async pool.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { QueryConfig } from 'pg';
import { StoreError } from '../../errors.js';
import type { ConnectionSettings } from './connection.js';
import type { CrossedError, SyncRequest, SyncResponse } from './sync-worker.js';

export interface QueryResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

/** A pg failure as it came back from the worker: name, message, SQLSTATE or Node code. */
export class CrossedPgError extends Error {
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  constructor(crossed: CrossedError) {
    super(crossed.message);
    this.name = crossed.name;
    this.code = crossed.code;
    this.detail = crossed.detail;
    this.hint = crossed.hint;
    if (crossed.stack !== undefined) this.stack = crossed.stack;
  }
}

/** The worker runs from JavaScript: from TypeScript source (vitest, tsx), the built copy in dist/. */
function workerFile(): string {
  const candidates = [new URL('./sync-worker.js', import.meta.url)];
  if (import.meta.url.endsWith('.ts'))
    candidates.push(new URL('../../../dist/store/postgres/sync-worker.js', import.meta.url));
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate);
    if (existsSync(path)) return path;
  }
  throw new StoreError(
    `Cannot find sync-worker.js, the thread that serves a PostgreSQL store (looked in ` +
      `${candidates.map((url) => fileURLToPath(url)).join(' and ')}). ` +
      'Running @flow/eventor from its TypeScript source? Build it first: pnpm --filter @flow/eventor build.',
    { code: 'FLOW_STORE_OPEN' },
  );
}

/** How long the worker thread may take to start. */
const STARTUP_MS = 10_000;

/**
 * The thread of this process's PostgreSQL stores: one for all of them (each store a session of its
 * own in it, with its own connection), started by the first store and kept, unref'd, for the
 * next: a thread and its `pg` cost more to start than a store costs to open.
 */
let thread: { worker: Worker; port: MessagePort } | undefined;
const flag = new Int32Array(new SharedArrayBuffer(4));
let nextId = 0;
let nextSession = 0;

export class SyncBridge {
  private readonly session = ++nextSession;
  private closed = false;

  /** `waitMs`: how long one call may take before the server counts as unreachable. */
  constructor(
    private readonly settings: ConnectionSettings,
    private readonly waitMs: number,
    private readonly location: string,
  ) {}

  /** Runs `queries` in order on the store's connection; the first failure throws CrossedPgError. */
  query(...queries: QueryConfig[]): QueryResult[] {
    return this.request(queries);
  }

  /**
   * `query`, with a lost connection tried again for `retryMs`: only a request `safe` to run twice is
   * sent again once part of it reached the server (see SyncRequest).
   */
  request(queries: QueryConfig[], options: { safe?: boolean; retryMs?: number } = {}): QueryResult[] {
    const retryMs = options.retryMs ?? 0;
    const response = this.call(
      {
        id: ++nextId,
        session: this.session,
        settings: this.settings,
        queries,
        retryMs,
        safe: options.safe === true,
      },
      this.waitMs + retryMs,
    );
    if (!response.ok) throw new CrossedPgError(response.error);
    return response.results.map((result) => ({
      rows: result.rows.map(withBuffers),
      rowCount: result.rowCount,
    }));
  }

  /** Ends the store's connection; the thread stays for other stores. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (thread === undefined) return;
    try {
      this.call(
        { id: ++nextId, session: this.session, settings: this.settings, queries: [], close: true },
        this.waitMs,
      );
    } catch {
      // it is going anyway
    }
  }

  private call(request: SyncRequest, waitMs: number): SyncResponse {
    const port = this.start();
    Atomics.store(flag, 0, 0);
    port.postMessage(request);
    const response = wait(port, request.id, waitMs);
    if (response !== undefined) return response;
    // a connection of the thread may be mid-transaction: the next call starts a new thread, where
    // every store connects again
    dispose();
    throw new StoreError(
      `The PostgreSQL store at "${this.location}" did not answer within ${Math.round(waitMs / 1000)}s: ` +
        'check that the server runs and is reachable, or give the Eventor a longer `busyTimeout`.',
      { code: 'FLOW_STORE_FAILED' },
    );
  }

  private start(): MessagePort {
    if (thread !== undefined) return thread.port;
    const { port1, port2 } = new MessageChannel();
    Atomics.store(flag, 0, 0);
    const worker = new Worker(workerFile(), {
      workerData: { flag: flag.buffer, port: port2 },
      transferList: [port2],
      // none of this program's Node flags: `--input-type` (node -e) or a loader would stop a plain script
      execArgv: [],
    });
    // neither keeps the process alive: a store left open must not hold an ended program
    worker.unref();
    port1.unref();
    worker.on('error', () => {});
    // a thread that cannot start would never answer: it says it is up (answer 0) first
    if (wait(port1, 0, STARTUP_MS) === undefined) {
      port1.close();
      void worker.terminate();
      throw new StoreError(
        `The thread that serves the PostgreSQL store at "${this.location}" did not start within ${STARTUP_MS / 1000}s ` +
          '(the machine may be out of memory or threads). Try again; if it persists, report it with your Node version.',
        { code: 'FLOW_STORE_OPEN' },
      );
    }
    thread = { worker, port: port1 };
    return port1;
  }
}

/** Blocks until the answer `id` arrives, or `ms` have passed (undefined). */
function wait(port: MessagePort, id: number, ms: number): SyncResponse | undefined {
  const deadline = Date.now() + ms;
  for (;;) {
    const received = receiveMessageOnPort(port);
    if (received !== undefined) {
      const response = received.message as SyncResponse;
      if (response.id === id) return response;
      continue; // an answer to a call that timed out before: dropped
    }
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    Atomics.wait(flag, 0, 0, left);
    Atomics.store(flag, 0, 0);
  }
}

function dispose(): void {
  const gone = thread;
  thread = undefined;
  gone?.port.close();
  void gone?.worker.terminate();
}

/** bytea values cross threads as plain Uint8Array; the store reads Buffers. */
function withBuffers(row: Record<string, unknown>): Record<string, unknown> {
  for (const key in row) {
    const value = row[key];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value))
      row[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return row;
}
