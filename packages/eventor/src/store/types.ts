/**
 * What the engine asks of a store, whatever database is under it. A method may answer at once (a
 * synchronous driver such as better-sqlite3) or with a promise (PostgreSQL's): the run loop awaits
 * what it gets once per pass, so a synchronous store costs it no turn of the event loop.
 */
import type { TaskStatus } from '../model/status.js';

export type MaybePromise<T> = T | Promise<T>;

/** One run as stored. */
export interface RunRow {
  id: string;
  name: string;
  mode: string;
  recovery: number;
  status: string;
  startedAt: number;
  updatedAt: number;
  endedAt: number | null;
  leasePid: number | null;
  leaseHost: string | null;
  leaseToken: string | null;
  /** Clock time after which a silent holder's lease has lapsed. */
  leaseExpiresAt: number | null;
  shape: string | null;
  openFrom: number;
}

/** One task as stored; `result` is the legacy JSON column, `resultV8` today's (see result-codec.ts). */
export interface TaskRow {
  runId: string;
  ord: number;
  step: string;
  sequence: string;
  recovery: number;
  status: TaskStatus;
  attempts: number;
  result: string | null;
  resultV8: Buffer | null;
  error: string | null;
  skipped: number;
  createdAt: number;
  updatedAt: number;
  child: string | null;
}

export interface TaskQuery {
  status?: TaskStatus;
  step?: string;
  recovery?: number;
  limit?: number;
  offset?: number;
}

/** The running step whose body fired a trigger. */
export interface TriggerSource {
  step: string;
  sequence: string;
}

export interface PendingCounts {
  triggers: number;
  tasks: number;
  delays: number;
  nextDue: number | null;
}

/** Who holds a run's lease: the process, and the token that tells its Eventor apart. */
export interface LeaseHolder {
  token: string;
  ttlMs: number;
}

export type RunFields = Partial<Pick<RunRow, 'mode' | 'recovery' | 'status' | 'endedAt' | 'shape'>>;

/** A store of runs: one SQLite file, or one PostgreSQL schema. */
export interface Store {
  /** The path or URL, as messages name it. */
  readonly location: string;
  readonly isOpen: boolean;
  createRun(run: { id: string; name: string; mode: string; now: number }): MaybePromise<void>;
  getRun(id: string): MaybePromise<RunRow | undefined>;
  /** The run most recently started, optionally of one flow name. */
  latestRun(name?: string): MaybePromise<RunRow | undefined>;
  /** The flow names the store has runs of, sorted. */
  flowNames(): MaybePromise<string[]>;
  updateRun(change: { id: string; fields: RunFields; now: number }): MaybePromise<void>;
  /** What is wrong with a damaged store, or undefined when it is sound (error paths only). */
  damage(): MaybePromise<string | undefined>;
  /**
   * Takes the run's lease for `holder`, or throws StoreError naming the live holder. `check` sees the
   * run in the same transaction and may refuse by throwing.
   */
  acquireLease(claim: {
    runId: string;
    holder: LeaseHolder;
    now: number;
    check?: (run: RunRow) => void;
  }): MaybePromise<void>;
  /** Pushes the lease's expiry on; false when the lease is no longer this holder's. */
  renewLease(claim: { runId: string; holder: LeaseHolder; now: number }): MaybePromise<boolean>;
  releaseLease(claim: { runId: string; holder: LeaseHolder }): MaybePromise<void>;
  /** Records a trigger fired from outside the run loop; false when it had fired already. */
  insertTrigger(trigger: {
    runId: string;
    recovery: number;
    event: string;
    sequence: string;
    now: number;
  }): MaybePromise<boolean>;
  hasTriggers(run: { runId: string; recovery: number }): MaybePromise<boolean>;
  pendingCounts(run: { runId: string; recovery: number }): MaybePromise<PendingCounts>;
  listTasks(runId: string, query?: TaskQuery): MaybePromise<TaskRow[]>;
  /** The store as the loop of one run (at one recovery, under one lease) reads and writes it. */
  forRun(run: { runId: string; recovery: number; holder: LeaseHolder }): RunStore;
  close(): MaybePromise<void>;
}

/** A task's latest attempt in an earlier recovery, as recovery replays it. */
export interface EarlierTask {
  ord: number;
  status: TaskStatus;
  attempts: number;
  recovery: number;
}

/** What a run loop starts from: everything it reads, in one batch, so that a pass reads nothing. */
export interface RunSnapshot {
  /** `sequence | event` of every trigger of this recovery. */
  fired: Set<string>;
  /** Triggers of this recovery not yet acted on, in firing order. */
  unacted: Array<{ event: string; sequence: string }>;
  /** `step | sequence` of every task of this recovery. */
  tasks: Set<string>;
  unfinished: TaskRow[];
  /** Failed tasks of this recovery. */
  failed: Array<{ step: string; sequence: string }>;
  /** The next task `ord` of the run (tasks are numbered across recoveries). */
  nextTaskOrd: number;
  /** Delays of every recovery: `assoc | sequence` -> due time of the earliest recovery's. */
  delayDue: Map<string, number>;
  /** `assoc | sequence` of this recovery's delays. */
  delaysHere: Set<string>;
  pendingDelays: Array<{ assoc: string; sequence: string; dueAt: number }>;
  /** For a recovery: `step | sequence` -> its latest earlier attempt. */
  earlier: Map<string, EarlierTask>;
  /** For a recovery: `recovery | step | sequence` -> what that attempt's body fired, in order. */
  firedByBodies: Map<string, Array<{ event: string; sequence: string }>>;
}

/** One task as the next commit writes it (an insert the first time, an update after). */
export interface TaskWrite {
  ord: number;
  step: string;
  sequence: string;
  status: TaskStatus;
  attempts: number;
  result: Buffer | null;
  /** JSON of the serialized error of its latest failed attempt, or null. */
  error: string | null;
  skipped: boolean;
  insert: boolean;
  /** A task skipped by recovery: the earlier attempt (by `ord`) whose stored result it takes. */
  resultFrom?: number | undefined;
}

/** Everything one pass of the run loop changed, written in one transaction. */
export interface Changes {
  now: number;
  tasks: TaskWrite[];
  triggers: Array<{ event: string; sequence: string; acted: boolean; source?: TriggerSource | undefined }>;
  /** Triggers fired earlier (outside the loop, or before a crash) that this pass acted on. */
  acted: Array<{ event: string; sequence: string }>;
  delays: Array<{ assoc: string; sequence: string; dueAt: number; fired: boolean }>;
  firedDelays: Array<{ assoc: string; sequence: string }>;
}

export interface RunStore {
  load(): MaybePromise<RunSnapshot>;
  /** Writes one pass's changes in one transaction, after checking the lease is still this holder's. */
  commit(changes: Changes): MaybePromise<void>;
  /** Records the child process of a task's attempt (JSON of its identity) as it starts. */
  setTaskChild(task: { ord: number; child: string }): MaybePromise<void>;
  /** Drops a task's record of child `pid` (any record when `pid` is undefined). */
  clearTaskChild(task: { ord: number; pid?: number | undefined }): MaybePromise<void>;
  /** Tasks of any recovery with a child recorded and no success: children that may run on. */
  tasksWithChild(): MaybePromise<Array<{ ord: number; step: string; sequence: string; child: string }>>;
  /** Every task of the run below `ord` is finished (it only ever moves forward). */
  setOpenFrom(ord: number): MaybePromise<void>;
}

/** A map key of parts that may hold any character but NUL, which names never do. */
export function keyOf(...parts: Array<string | number>): string {
  // each part but the last carries its length, so names holding any character (NUL too) cannot collide
  let key = '';
  const last = parts.length - 1;
  for (let i = 0; i < last; i++) {
    const part = String(parts[i]);
    key += `${part.length}:${part}`;
  }
  return key + String(parts[last]);
}
