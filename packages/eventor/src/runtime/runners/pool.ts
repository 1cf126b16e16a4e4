import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FlowError } from '../../errors.js';
import { childExecArgv } from './exec-argv.js';
import type { FromRunnerMessage } from './remote.js';

/** The call a pooled worker runs now: it gets the worker's messages, or hears that the worker died. */
export interface WorkerTask {
  onMessage(message: FromRunnerMessage): void;
  onCrash(error: Error): void;
}

/** One worker thread; `task` is set while it runs a step. */
export class PooledWorker {
  readonly worker: Worker;
  task: WorkerTask | undefined;
  dead = false;

  constructor(entry: string, onExit: (worker: PooledWorker) => void) {
    this.worker = startWorker(entry);
    this.worker.on('message', (message: FromRunnerMessage) => this.task?.onMessage(message));
    this.worker.on('error', (error) => this.crash(error));
    this.worker.on('exit', (code) => {
      this.dead = true;
      onExit(this);
      this.crash(
        new FlowError(
          `The worker thread running the step exited with code ${code} before the step returned.`,
          {
            code: 'FLOW_WORKER_EXIT',
          },
        ),
      );
    });
  }

  private crash(error: Error): void {
    this.dead = true;
    const task = this.task;
    this.task = undefined;
    task?.onCrash(error);
  }
}

interface Waiter {
  resolve(worker: PooledWorker): void;
  reject(error: unknown): void;
  signal: AbortSignal;
  onAbort(): void;
}

/**
 * Worker threads reused across steps, one step at a time each. The pool grows on demand up to
 * `limit` (the eventor's concurrency cap, or the machine's parallelism when there is none); steps
 * beyond it wait for a worker. Idle workers are unref'd, so they never keep the process alive.
 */
export class WorkerPool {
  private limit = availableParallelism();
  private readonly workers = new Set<PooledWorker>();
  private idle: PooledWorker[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly terminating = new Set<Promise<unknown>>();

  constructor(private readonly entry: () => string) {}

  /** Lets the pool hold at least `size` workers (never shrinks it). */
  raiseLimit(size: number): void {
    if (size <= this.limit) return;
    this.limit = size;
    while (this.waiters.length > 0 && this.workers.size < this.limit)
      this.handTo(this.waiters.shift() as Waiter, this.spawn());
  }

  acquire(signal: AbortSignal): Promise<PooledWorker> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const idle = this.idle.pop();
    if (idle) {
      idle.worker.ref();
      return Promise.resolve(idle);
    }
    if (this.workers.size < this.limit) {
      try {
        return Promise.resolve(this.spawn());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** A worker whose step ended normally goes to the next waiting step, or idles. */
  release(worker: PooledWorker): void {
    if (worker.dead) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.handTo(waiter, worker);
      return;
    }
    worker.worker.unref();
    this.idle.push(worker);
  }

  /** A worker that crashed or would not stop is terminated; a waiting step gets a fresh one. */
  discard(worker: PooledWorker): void {
    this.forget(worker);
    if (!worker.dead) {
      worker.dead = true;
      this.track(worker.worker.terminate());
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      try {
        this.handTo(waiter, this.spawn());
      } catch (error) {
        waiter.signal.removeEventListener('abort', waiter.onAbort);
        waiter.reject(error);
      }
    }
  }

  /** Terminates the idle workers and waits for every termination under way. Busy workers stay. */
  async dispose(): Promise<void> {
    const idle = this.idle;
    this.idle = [];
    for (const worker of idle) {
      this.workers.delete(worker);
      worker.dead = true;
      this.track(worker.worker.terminate());
    }
    while (this.terminating.size > 0) await Promise.all([...this.terminating]);
  }

  /** Workers now, busy ones, and steps waiting for one (for tests and diagnostics). */
  stats(): { workers: number; busy: number; waiting: number } {
    return {
      workers: this.workers.size,
      busy: this.workers.size - this.idle.length,
      waiting: this.waiters.length,
    };
  }

  private spawn(): PooledWorker {
    const worker = new PooledWorker(this.entry(), (gone) => this.forget(gone));
    this.workers.add(worker);
    return worker;
  }

  private handTo(waiter: Waiter, worker: PooledWorker): void {
    waiter.signal.removeEventListener('abort', waiter.onAbort);
    worker.worker.ref();
    waiter.resolve(worker);
  }

  private forget(worker: PooledWorker): void {
    this.workers.delete(worker);
    const index = this.idle.indexOf(worker);
    if (index >= 0) this.idle.splice(index, 1);
  }

  private track(termination: Promise<unknown>): void {
    const done = termination.catch(() => {});
    this.terminating.add(done);
    void done.finally(() => this.terminating.delete(done));
  }
}

/**
 * A thread inherits the process's flags, but -e / --input-type kill it at start: without those it
 * gets the flags a child would (loaders included), less those a thread cannot take (V8 and
 * process-wide ones such as --max-old-space-size), which Node names when it refuses them.
 */
function startWorker(entry: string): Worker {
  if (childExecArgv().length === process.execArgv.length) return new Worker(entry);
  let execArgv = childExecArgv();
  for (;;) {
    try {
      return new Worker(entry, { execArgv });
    } catch (error) {
      const refused = /invalid execArgv flags: (.+)$/.exec((error as Error).message)?.[1]?.split(', ');
      if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV' || !refused?.length)
        throw error;
      const kept = execArgv.filter((arg) => !refused.includes(arg));
      if (kept.length === execArgv.length) throw error;
      execArgv = kept;
    }
  }
}
