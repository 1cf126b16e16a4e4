// Stores for the `eventor ui` tests, written by real runs through the public API.
import { request } from 'node:http';
import Database from 'better-sqlite3';
import * as lib from '../../src/index.js';
import { buildDemo } from '../fixtures-cli/flows.mjs';

export const HOSTILE = '<img src=x onerror=alert(1)>';

/** The demo flow failed in recovery 0 (s2 throws) and recovered in recovery 1 (s1 skipped, s2 reran). */
export async function recoveredDemo(store: string): Promise<string> {
  const failed = buildDemo(lib, { store, param: -9 });
  await failed.run();
  failed.close();
  const recovered = buildDemo(lib, { store, param: 9, runMode: 'recover' });
  const result = await recovered.run();
  recovered.close();
  return result.runId;
}

/** A run whose step and event names are HTML: `start` fires HOSTILE, which fails. */
export async function hostileRun(store: string): Promise<string> {
  const ev = new lib.Eventor({ name: `flow ${HOSTILE}`, store, logLevel: 'silent' });
  const go = ev.addEvent(`go "${HOSTILE}"`);
  const step = ev.addStep(HOSTILE, {
    func: () => {
      throw new Error(`bad ${HOSTILE}`);
    },
  });
  ev.addAssoc(go, step);
  ev.triggerEvent(go, `seq ${HOSTILE}`);
  const result = await ev.run();
  ev.close();
  return result.runId;
}

export interface GatedRun {
  runId: string;
  /** Lets the `wait` step finish. */
  open(): void;
  /** The run's result, once `open` was called. */
  done: Promise<unknown>;
  /** Resolves when `wait` has started. */
  started: Promise<void>;
}

/** A run still going: `first` succeeds, then `wait` runs until open() is called, then `last` runs. */
export function gatedRun(store: string, runId = 'live-run'): GatedRun {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => {
    started = resolve;
  });
  const ev = new lib.Eventor({ name: 'live', store, runId, logLevel: 'silent' });
  const go = ev.addEvent('go');
  const firstDone = ev.addEvent('first_done');
  const waitDone = ev.addEvent('wait_done');
  const first = ev.addStep('first', { func: () => 'one', triggers: { success: firstDone } });
  const wait = ev.addStep('wait', {
    func: async () => {
      started();
      await gate;
      return 'two';
    },
    triggers: { success: waitDone },
  });
  const last = ev.addStep('last', { func: () => 'three' });
  ev.addAssoc(go, first);
  ev.addAssoc(firstDone, wait);
  ev.addAssoc(waitDone, last);
  ev.triggerEvent(go);
  const done = ev.run().finally(() => ev.close());
  return { runId, open, done, started: startedPromise };
}

/** A run of `count` steps in a chain: step_i fires the event that starts step_{i+1}. */
export async function chainRun(store: string, count: number): Promise<string> {
  const ev = new lib.Eventor({ name: `chain-${count}`, store, logLevel: 'silent' });
  const events = Array.from({ length: count }, (_, i) => ev.addEvent(`start_${i}`));
  for (let i = 0; i < count; i++) {
    const next = events[i + 1];
    const step = ev.addStep(`step_${i}`, {
      func: () => i,
      ...(next ? { triggers: { success: next } } : {}),
    });
    ev.addAssoc(events[i]!, step);
  }
  ev.triggerEvent(events[0]!);
  const result = await ev.run();
  ev.close();
  return result.runId;
}

/**
 * Copies the store's one run (with its tasks and triggers) until the store holds `count` runs, the
 * copies started one second apart: 10,000 real runs would take minutes to write.
 */
export function cloneRuns(store: string, count: number): void {
  const db = new Database(store);
  try {
    const run = db.prepare('SELECT * FROM runs').get() as Record<string, unknown>;
    const tasks = db.prepare('SELECT * FROM tasks WHERE run_id = ?').all(run.id) as Record<string, unknown>[];
    const statements = new Map<string, Database.Statement>();
    const insert = (table: string, row: Record<string, unknown>): void => {
      const keys = Object.keys(row);
      let statement = statements.get(table);
      if (!statement) {
        statement = db.prepare(
          `INSERT INTO ${table} (${keys.join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`,
        );
        statements.set(table, statement);
      }
      statement.run(...keys.map((k) => row[k]));
    };
    db.transaction(() => {
      for (let i = 1; i < count; i++) {
        const id = `copy-${String(i).padStart(5, '0')}`;
        const startedAt = (run.started_at as number) + i * 1000;
        insert('runs', {
          ...run,
          id,
          name: i % 2 === 0 ? 'even' : 'odd',
          status: i % 3 === 0 ? 'failure' : 'success',
          started_at: startedAt,
          updated_at: startedAt,
          ended_at: startedAt + 10,
        });
        for (const task of tasks) insert('tasks', { ...task, run_id: id });
      }
    })();
  } finally {
    db.close();
  }
}

export interface Response {
  status: number;
  type: string;
  body: string;
}

/** GET `path` exactly as given (no URL normalisation, unlike fetch), for the traversal tests. */
export function rawGet(base: string, path: string): Promise<Response> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
