import { readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Command and process steps start their child detached: it leads a process group (and session) of
 * its own, so a timeout or stop can signal everything it started (a shell's children too), and a
 * recovery can find what a killed engine left running. Windows has no process groups.
 */
export const USE_PROCESS_GROUPS = process.platform !== 'win32';

const ON_LINUX = process.platform === 'linux';

/** Who a child process is, well enough to tell it from a later process that got the same pid. */
export interface ChildIdentity {
  pid: number;
  host: string;
  /** Linux: the kernel's boot id; with `start`, it names one process across pid reuse. */
  boot?: string;
  /** Linux: the process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  start?: string;
}

interface ProcStat {
  state: string;
  pgrp: number;
  session: number;
  start: string;
}

/** Fields 3 (state), 5 (pgrp), 6 (session) and 22 (starttime) of `/proc/<pid>/stat`; undefined if it is gone. */
function procStat(pid: number | string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // the command name (field 2) is in parentheses and may hold spaces or parentheses itself
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    state: fields[0] ?? '',
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    start: fields[19] ?? '',
  };
}

let bootId: string | undefined | null = null;

function currentBootId(): string | undefined {
  if (bootId === null) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootId = undefined;
    }
  }
  return bootId;
}

/** The identity of a child just spawned (it exists: spawn forks before it returns). */
export function identify(pid: number): ChildIdentity {
  const identity: ChildIdentity = { pid, host: hostname() };
  if (ON_LINUX) {
    const boot = currentBootId();
    const stat = procStat(pid);
    if (boot !== undefined && stat !== undefined) {
      identity.boot = boot;
      identity.start = stat.start;
    }
  }
  return identity;
}

/** Sends `signal` to the group `pid` leads, or to the process alone without groups; false if nothing got it. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(USE_PROCESS_GROUPS ? -pid : pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process of group `pgid` still runs. A zombie does not count: where nothing reaps
 * orphans (some containers' init), a killed grandchild stays a zombie and would look alive forever.
 * `since`: only members started at or after this start time (Linux), so an unrelated group that
 * later got the same id is not taken for ours.
 */
export function groupAlive(pgid: number, since?: string): boolean {
  try {
    process.kill(USE_PROCESS_GROUPS ? -pgid : pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' && since === undefined;
  }
  if (!ON_LINUX || !USE_PROCESS_GROUPS) return true;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    const code = entry.charCodeAt(0);
    if (code < 48 || code > 57) continue;
    const stat = procStat(entry);
    if (stat === undefined || stat.pgrp !== pgid || stat.state === 'Z' || stat.state === 'X') continue;
    if (since !== undefined && (stat.session !== pgid || BigInt(stat.start) < BigInt(since))) continue;
    return true;
  }
  return false;
}

export type OrphanState =
  /** The process (or its group) is still running here. */
  | 'running'
  /** Nothing of it runs any more (or its pid now belongs to another process). */
  | 'gone'
  /** It ran on another host (or before a reboot we cannot tell): we cannot look. */
  | 'elsewhere';

/** Whether a child recorded by an engine that is gone still runs, as far as this host can tell. */
export function orphanState(child: ChildIdentity): OrphanState {
  if (child.host !== hostname()) return 'elsewhere';
  if (child.boot !== undefined && child.start !== undefined) {
    if (!ON_LINUX) return 'elsewhere';
    if (child.boot !== currentBootId()) return 'gone'; // the machine rebooted since
    const stat = procStat(child.pid);
    if (stat !== undefined && stat.state !== 'Z' && stat.state !== 'X')
      return stat.start === child.start ? 'running' : 'gone';
    // the leader is gone; what it started may still run in its group
    return groupAlive(child.pid, child.start) ? 'running' : 'gone';
  }
  // no start time recorded (not Linux): a live group led by that pid is taken for ours
  return groupAlive(child.pid) ? 'running' : 'gone';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How often a group being ended is looked at. */
const POLL_MS = 25;
/** After SIGKILL, how long to wait for the group to be gone before giving up. */
const KILLED_WAIT_MS = 2_000;

/**
 * Ends a process group: SIGTERM, then SIGKILL once `grace` ms have passed with something of it still
 * running; resolves once nothing of it runs (or it stayed after SIGKILL for KILLED_WAIT_MS).
 */
export async function endGroup(
  pgid: number,
  grace: number,
  alive: () => boolean = () => groupAlive(pgid),
): Promise<void> {
  if (!alive()) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + grace;
  while (alive()) {
    if (Date.now() >= deadline) {
      signalGroup(pgid, 'SIGKILL');
      const killedDeadline = Date.now() + KILLED_WAIT_MS;
      while (alive() && Date.now() < killedDeadline) await sleep(POLL_MS);
      return;
    }
    await sleep(POLL_MS);
  }
}
