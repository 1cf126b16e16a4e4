import type { ChildProcess } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';
import { FlowError } from '../../errors.js';
import { endGroup, groupAlive, identify, signalGroup, USE_PROCESS_GROUPS } from './process-group.js';
import type { StepInvocation } from './types.js';

/** After SIGTERM, how long a child gets to exit before SIGKILL. */
export const KILL_GRACE_MS = 2_000;

/** Spawned children still running, by pid (each leads its process group). */
const live = new Map<number, ChildProcess>();
/** Groups being ended whose leader may already have exited. */
const ending = new Set<number>();
const dying = new Set<Promise<void>>();
let hooksInstalled = false;

/** Signals that end a process by default: while children run, they are ended with it. */
const FATAL_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * If the engine's process exits while children still run, their groups go with it. A detached child
 * no longer shares the terminal's process group, so Ctrl-C would not reach it either: a fatal
 * signal that nothing else in the program handles ends the groups, then the process as before.
 */
function killLiveGroups(): void {
  for (const pid of live.keys()) signalGroup(pid, 'SIGKILL');
  for (const pid of ending) signalGroup(pid, 'SIGKILL');
}

function onFatalSignal(signal: NodeJS.Signals): void {
  // prepended, so every other listener (once-listeners too) is still counted here
  if (process.listenerCount(signal) > 1) return;
  killLiveGroups();
  removeHooks();
  process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killLiveGroups);
  if (USE_PROCESS_GROUPS && isMainThread)
    for (const signal of FATAL_SIGNALS) process.prependListener(signal, onFatalSignal);
}

function removeHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', killLiveGroups);
  if (USE_PROCESS_GROUPS && isMainThread)
    for (const signal of FATAL_SIGNALS) process.off(signal, onFatalSignal);
}

function maybeRemoveHooks(): void {
  if (live.size === 0 && ending.size === 0) removeHooks();
}

/** Remembers a spawned child until it exits, so the engine's exit and `disposeRunners` can reach it. */
export function trackChild(child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return; // never started: 'error' reports why
  live.set(pid, child);
  installHooks();
  child.once('exit', () => {
    live.delete(pid);
    maybeRemoveHooks();
  });
}

/** Whether `pid` is a child this process started and still tracks. */
export function isLiveChild(pid: number): boolean {
  return live.has(pid);
}

function hasExited(child: ChildProcess): boolean {
  return child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
}

/**
 * Ends a child with its whole process group: SIGTERM now, SIGKILL after `grace` ms to whatever of the
 * group still runs; resolves once the child has exited and nothing of its group runs.
 */
export function terminateChild(child: ChildProcess, grace = KILL_GRACE_MS): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || (hasExited(child) && !(USE_PROCESS_GROUPS && groupAlive(pid))))
    return Promise.resolve();
  ending.add(pid);
  installHooks();
  const done = endGroup(pid, grace, () => !hasExited(child) || (USE_PROCESS_GROUPS && groupAlive(pid)))
    .then(() =>
      hasExited(child) ? undefined : new Promise<void>((resolve) => child.once('exit', () => resolve())),
    )
    .finally(() => {
      ending.delete(pid);
      maybeRemoveHooks();
    });
  dying.add(done);
  void done.finally(() => dying.delete(done));
  return done;
}

/** Resolves when every child this module was asked to terminate has exited, with its group. */
export async function childrenTerminated(): Promise<void> {
  while (dying.size > 0) await Promise.all([...dying]);
}

/** How many children run now (for tests and diagnostics). */
export function liveChildCount(): number {
  return live.size;
}

/**
 * Records a child just started with its task (see `StepInvocation.recordChild`), so a recovery can
 * end it if this engine dies first. Returns the error to fail the attempt with when that fails,
 * after ending the child: a child nobody could find again must not run on.
 */
export function recordStarted(child: ChildProcess, invocation: StepInvocation): Error | undefined {
  const pid = child.pid;
  if (invocation.recordChild === undefined || pid === undefined) return undefined;
  try {
    invocation.recordChild(identify(pid));
    return undefined;
  } catch (cause) {
    void terminateChild(child);
    return new FlowError(
      `Step "${invocation.step.name}": its child process (pid ${pid}) was ended, since it could not be ` +
        `recorded in the store: ${(cause as Error).message}`,
      { code: 'FLOW_CHILD_RECORD', cause },
    );
  }
}

/** Once a child and its group have ended, its record is dropped from the task (if still its own). */
export function recordEnded(child: ChildProcess, invocation: StepInvocation): void {
  const pid = child.pid;
  if (invocation.forgetChild === undefined || pid === undefined) return;
  if (USE_PROCESS_GROUPS && groupAlive(pid)) return; // what it started runs on: a recovery must still find it
  try {
    invocation.forgetChild(pid);
  } catch (error) {
    invocation.logger.warn(
      { err: error, pid },
      `Could not clear the record of the ended child process ${pid}: ${(error as Error).message}`,
    );
  }
}

/** A child being ended that nothing reads any more: its pipes are closed and its late errors ignored. */
export function abandon(child: ChildProcess): void {
  child.on('error', () => {});
  child.stdout?.destroy();
  child.stderr?.destroy();
}
