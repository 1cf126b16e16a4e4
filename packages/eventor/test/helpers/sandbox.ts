import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { Eventor, type EventorOptions, type Logger } from '../../src/index.js';
import { freshStore } from './test-store.mjs';

export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  level: Level;
  fields: Record<string, unknown>;
  msg: string | undefined;
}

/** A logger that keeps every record, so tests can look at fields and messages. */
export class MemoryLogger implements Logger {
  readonly records: LogRecord[] = [];

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

  at(level: Level): LogRecord[] {
    return this.records.filter((record) => record.level === level);
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
   * The test's store: a file inside `dir`, or in a `*-postgres` project a postgres: URL naming a
   * Postgres schema of the test's own (see test-store.mjs).
   */
  readonly store: string;
  /** The store as the engine's messages name it (the URL's password hidden). */
  readonly location: string;
  /** The logger given to eventors made by `eventor()` unless the options name another. */
  readonly logger: MemoryLogger;
  /** A path inside `dir`. */
  path(name: string): string;
  /** Another store of the same kind as `store`, removed when the test ends (`name`: its file's name). */
  anotherStore(name: string): string;
  /** An Eventor on the sandbox store (quiet, logging to `logger`), closed when the test ends. */
  eventor(options?: EventorOptions): Eventor;
  /** Registers an eventor made elsewhere so it is closed when the test ends. */
  track(ev: Eventor): Eventor;
}

/** A temp folder and one store for the current test; everything is cleaned up afterwards. */
export function sandbox(label = 'eventor'): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), `flow-${label}-`));
  const { store, location, drop } = freshStore(dir);
  const drops = [drop];
  const logger = new MemoryLogger();
  const opened: Eventor[] = [];
  onTestFinished(async () => {
    for (const ev of opened) ev.close();
    rmSync(dir, { recursive: true, force: true });
    await Promise.all(drops.map((dropOne) => dropOne()));
  });
  const track = (ev: Eventor) => {
    opened.push(ev);
    return ev;
  };
  return {
    dir,
    store,
    location,
    logger,
    path: (name) => join(dir, name),
    anotherStore: (name) => {
      const another = freshStore(dir, name);
      drops.push(another.drop);
      return another.store;
    },
    eventor: (options = {}) => track(new Eventor({ name: 'test', store, logger, ...options })),
    track,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolve function outside, to hold a step open until the test lets go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Counts how many wrapped async calls run at the same time, and the order they start in. */
export class ConcurrencyProbe {
  running = 0;
  max = 0;
  readonly started: string[] = [];
  readonly finished: string[] = [];

  /** A step function that waits `ms` while counted as running; it records `label(args)`. */
  step(ms: number, label: (...args: unknown[]) => string) {
    return async (...args: unknown[]) => {
      const name = label(...args);
      this.running += 1;
      this.max = Math.max(this.max, this.running);
      this.started.push(name);
      try {
        await sleep(ms);
        return name;
      } finally {
        this.running -= 1;
        this.finished.push(name);
      }
    };
  }
}

/** Resolves like `promise`, or rejects with `message` if it has not settled within `ms` (a hang is a bug). */
export function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (still pending after ${ms} ms)`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
