import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD_SCRIPT = fileURLToPath(new URL('../fixtures-core/child.mjs', import.meta.url));

export interface ChildMessage {
  type: string;
  pid: number;
  [key: string]: unknown;
}

/**
 * The child scripts import the built package (dist), as a user's program does. Fails with what to
 * do when dist is missing or older than src, since the child would then run other code than the test.
 */
export function assertDistIsCurrent(): void {
  const entry = join(PACKAGE_ROOT, 'dist', 'index.js');
  if (!existsSync(entry)) {
    throw new Error(
      `${entry} is missing: build the package first with \`pnpm --filter @flow/eventor build\`.`,
    );
  }
  const newestSrc = newestMtime(join(PACKAGE_ROOT, 'src'));
  const newestDist = newestMtime(join(PACKAGE_ROOT, 'dist'));
  if (newestSrc > newestDist) {
    throw new Error(
      'packages/eventor/dist is older than src, so the child process would run stale code: ' +
        'rebuild with `pnpm --filter @flow/eventor build` (the root `pnpm test` does this).',
    );
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** A flow running in a child process (test/fixtures-core/child.mjs, or `script`); killed when the test ends. */
export class FlowChild {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly inbox: ChildMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private stderr = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(args: string[], script: string = CHILD_SCRIPT) {
    assertDistIsCurrent();
    this.process = fork(script, args, { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.process.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.process.on('message', (message) => {
      this.inbox.push(message as ChildMessage);
      this.notify();
    });
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.notify();
        resolve({ code, signal });
      });
    });
    onTestFinished(async () => {
      if (this.exitInfo === undefined) {
        this.process.kill('SIGKILL');
        await this.exited;
      }
    });
  }

  get pid(): number {
    return this.process.pid as number;
  }

  /** Waits for the next message of `type`, or of any of `types` (messages are kept until taken). */
  async next(type: string | readonly string[], timeoutMs = 10_000): Promise<ChildMessage> {
    const deadline = Date.now() + timeoutMs;
    const types = typeof type === 'string' ? [type] : type;
    for (;;) {
      const index = this.inbox.findIndex((message) => types.includes(message.type));
      if (index >= 0) return this.inbox.splice(index, 1)[0] as ChildMessage;
      const error = this.inbox.find((message) => message.type === 'error');
      if (error) throw new Error(`child ${this.pid} reported: ${String(error.message)}`);
      if (this.exitInfo) {
        throw new Error(
          `child ${this.pid} exited (code ${this.exitInfo.code}, signal ${this.exitInfo.signal}) before sending ` +
            `"${type}". Its stderr:\n${this.stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `child ${this.pid} sent no "${type}" within ${timeoutMs} ms. Its stderr:\n${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const waiters = this.waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
  }

  send(message: Record<string, unknown>): void {
    this.process.send(message);
  }

  /** Kills the child with SIGKILL and waits until it is gone (reaped). */
  async kill(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exited;
  }

  get errors(): string {
    return this.stderr;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
