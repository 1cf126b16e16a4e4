import type { ChildProcess } from 'node:child_process';

/** After SIGTERM, how long a child gets to exit before SIGKILL. */
export const KILL_GRACE_MS = 2_000;

const live = new Set<ChildProcess>();
const dying = new Set<Promise<void>>();
let exitHookInstalled = false;

/** If the engine's process exits while children still run, they go with it. */
function killLiveChildren(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Remembers a spawned child until it exits, so the engine's exit and `disposeRunners` can reach it. */
export function trackChild(child: ChildProcess): void {
  if (child.pid === undefined) return; // never started: 'error' reports why
  live.add(child);
  if (!exitHookInstalled) {
    process.on('exit', killLiveChildren);
    exitHookInstalled = true;
  }
  child.once('exit', () => {
    live.delete(child);
    if (live.size === 0 && exitHookInstalled) {
      process.off('exit', killLiveChildren);
      exitHookInstalled = false;
    }
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM now, SIGKILL after `grace` ms; resolves once the child has exited. */
export function terminateChild(child: ChildProcess, grace = KILL_GRACE_MS): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!hasExited(child)) child.kill('SIGKILL');
  }, grace);
  const done = exited.then(() => clearTimeout(timer));
  dying.add(done);
  void done.finally(() => dying.delete(done));
  return done;
}

/** Resolves when every child this module was asked to terminate has exited. */
export async function childrenTerminated(): Promise<void> {
  while (dying.size > 0) await Promise.all([...dying]);
}

/** How many children run now (for tests and diagnostics). */
export function liveChildCount(): number {
  return live.size;
}
