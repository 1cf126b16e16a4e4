import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { freshStore } from '../../../eventor/test/helpers/test-store.mjs';
import { type Logger, Sequent, type SequentOptions } from '../../src/index.js';

export type Level = 'debug' | 'info' | 'warn' | 'error';

/** A logger that keeps every record, so tests can look at what the engine said. */
export class MemoryLogger implements Logger {
  readonly records: Array<{ level: Level; fields: Record<string, unknown>; msg: string | undefined }> = [];
  debug(obj: unknown, msg?: string): void {
    this.push('debug', obj, msg);
  }
  info(obj: unknown, msg?: string): void {
    this.push('info', obj, msg);
  }
  warn(obj: unknown, msg?: string): void {
    this.push('warn', obj, msg);
  }
  error(obj: unknown, msg?: string): void {
    this.push('error', obj, msg);
  }
  private push(level: Level, obj: unknown, msg?: string): void {
    if (typeof obj === 'string') this.records.push({ level, fields: {}, msg: obj });
    else this.records.push({ level, fields: { ...(obj as Record<string, unknown>) }, msg });
  }
}

export interface Sandbox {
  /** A fresh temp folder, removed when the test ends. */
  readonly dir: string;
  /**
   * The test's store: a file inside `dir`, or in the `sequent-postgres` project a postgres: URL
   * naming a Postgres schema of the test's own (eventor's test/helpers/test-store.ts).
   */
  readonly store: string;
  readonly logger: MemoryLogger;
  path(name: string): string;
  /** Another store of the same kind, removed when the test ends (`name`: its file's name). */
  anotherStore(name: string): string;
  /** A Sequent on the sandbox store, closed when the test ends. */
  flow(options?: SequentOptions): Sequent;
}

/** A temp folder and one store for the current test; cleaned up afterwards. */
export function sandbox(): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'flow-sequent-'));
  const first = freshStore(dir);
  const stores = [first];
  const logger = new MemoryLogger();
  const opened: Sequent[] = [];
  onTestFinished(async () => {
    for (const flow of opened) flow.close();
    rmSync(dir, { recursive: true, force: true });
    await Promise.all(stores.map((store) => store.drop()));
  });
  return {
    dir,
    store: first.store,
    logger,
    path: (name) => join(dir, name),
    anotherStore: (name) => {
      const another = freshStore(dir, name);
      stores.push(another);
      return another.store;
    },
    flow: (options = {}) => {
      const flow = new Sequent({ name: 'test', store: first.store, logger, ...options });
      opened.push(flow);
      return flow;
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `step/sequence` of each task, as the seed's examples print them. */
export function executed(tasks: ReadonlyArray<{ step: string; sequence: string }>): string[] {
  return tasks.map((task) => `${task.step}/${task.sequence}`);
}
