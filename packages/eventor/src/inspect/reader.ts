/**
 * What the presentations (the `eventor` command, `eventor ui`, diagnose and the tree views) read
 * from a store, whatever database is under it: the Reader interface, its rows, and helpers over
 * them. Readers never write: sqlite-reader.ts reads a file, postgres-reader.ts a Postgres schema;
 * open-reader.ts picks one by the store's location.
 */
import { type DefinitionChangeRecord, readStoredShape } from '../model/definition-changes.js';
import { assocKeyOf, type FlowShape } from '../model/flow.js';
import type { TaskStatus } from '../model/status.js';
import { leaseHolderAlive } from '../store/lease.js';
import { decodeResult } from '../store/result-codec.js';
import type { RunRow, TaskRow } from '../store/types.js';

/** A run with the tasks of its current recovery counted by outcome. */
export interface RunSummary extends RunRow {
  /** Succeeded and actually ran (not skipped by recovery). */
  success: number;
  failure: number;
  /** Skipped by recovery (they count as success for the engine). */
  skipped: number;
  /** Not finished: ready, allocate or active. */
  pending: number;
  /** Delays of the current recovery not yet fired. */
  delays: number;
  /** 'running' only while a live process holds the run; a run left 'running' by a dead one is 'interrupted'. */
  state: string;
}

export interface TriggerRow {
  event: string;
  sequence: string;
  recovery: number;
  ord: number;
  acted: boolean;
  createdAt: number;
}

export interface DelayInfo {
  assoc: string;
  sequence: string;
  recovery: number;
  dueAt: number;
  fired: boolean;
}

export interface RunsPageQuery {
  /** A part of the run's name or id, any case. */
  name?: string;
  /** The state a reader sees (runState): running, interrupted, success, failure. */
  state?: string;
  offset: number;
  limit: number;
}

export interface TaskFilter {
  statuses?: readonly string[];
  steps?: readonly string[];
  recovery?: number;
}

/**
 * Read-only queries over a store, for the presentations. It never writes, never migrates and never
 * creates a store: the engine's `Store.open` does those, which a reader must not do to a store
 * another process may be running on. Rows and their order are the same on every database.
 */
export interface Reader {
  /** The store as messages show it: a file's path, or a PostgreSQL URL with its password hidden. */
  readonly location: string;
  /** Every run, oldest first, with the tasks of its current recovery counted. */
  listRuns(): RunSummary[];
  /**
   * A page of runs, newest first, whose name or id contains `name` (any case, ASCII letters) and
   * whose state is `state`; counts only the page's tasks, so a store of many runs answers at once.
   */
  listRunsPage(query: RunsPageQuery): { total: number; runs: RunSummary[] };
  getRun(id: string): RunRow | undefined;
  /** The run most recently started (the engine's "latest run"). */
  latestRun(): RunRow | undefined;
  /** Tasks of a run, oldest first, optionally filtered; `pending` in statuses stands for every unfinished one. */
  tasks(runId: string, filter?: TaskFilter): TaskRow[];
  /** Events fired in a recovery of a run (optionally in one sequence), in firing order. */
  firedTriggers(runId: string, recovery: number, sequence?: string): TriggerRow[];
  /** Delays of a recovery of a run (optionally one sequence), fired or not, by due time. */
  delays(runId: string, recovery: number, sequence?: string): DelayInfo[];
  /** Delays of a run's recovery not yet fired, nearest first. */
  pendingDelays(runId: string, recovery: number): DelayInfo[];
  /**
   * A number that moves whenever another connection may have committed, cheap to ask often:
   * SQLite's data_version; on PostgreSQL a sum over the transactions that wrote the runs rows.
   */
  dataVersion(): number;
  /**
   * Where the database can tell of commits itself (PostgreSQL: LISTEN): calls `changed` soon after
   * each commit to the store, and `lost` once if the signal stops (then poll dataVersion).
   * Resolves once listening; rejects when it cannot listen. Absent: poll dataVersion.
   */
  listen?(changed: () => void, lost: (error: unknown) => void): Promise<{ close(): Promise<void> }>;
  close(): void;
}

/** What a task filter may ask for: the stored statuses, `pending` (any unfinished) and `skipped`. */
export const TASK_FILTER_STATUSES: readonly string[] = [
  'ready',
  'allocate',
  'active',
  'success',
  'failure',
  'pending',
  'skipped',
];

/** The statuses `pending` stands for in a task filter. */
export const UNFINISHED: readonly TaskStatus[] = ['ready', 'allocate', 'active'];

/**
 * A task's stored result as JSON can show it, or `has: false` when it has none. Values JSON has no
 * form for are tagged: a Map as { $map: [[key, value], ...] }, a Set as { $set: [...] }, a BigInt as
 * { $bigint: '12' }, NaN and the infinities as { $number: 'NaN' }, a RegExp as { $regexp: '/a/g' },
 * a cycle as { $ref: '<path of the object it points back to>' }; a Date is its ISO string, a typed
 * array an array of its numbers, undefined in an array null (as JSON.stringify gives).
 */
export function resultAsJson(row: TaskRow): { has: boolean; value: unknown } {
  const { has, value } = decodeResult(row);
  return has ? { has, value: toJsonable(value, '$', new Map()) } : { has, value: undefined };
}

function toJsonable(value: unknown, path: string, open: Map<object, string>): unknown {
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $number: String(value) };
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof RegExp) return { $regexp: String(value) };
  const cycle = open.get(value);
  if (cycle !== undefined) return { $ref: cycle };
  open.set(value, path);
  try {
    if (value instanceof Map) {
      return {
        $map: [...value].map(([key, item], i) => [
          toJsonable(key, `${path}.$map[${i}][0]`, open),
          toJsonable(item, `${path}.$map[${i}][1]`, open),
        ]),
      };
    }
    if (value instanceof Set)
      return { $set: [...value].map((item, i) => toJsonable(item, `${path}.$set[${i}]`, open)) };
    if (ArrayBuffer.isView(value)) {
      return value instanceof DataView
        ? [...new Uint8Array(value.buffer)]
        : Array.from(value as unknown as ArrayLike<number | bigint>, (item) => toJsonable(item, path, open));
    }
    if (Array.isArray(value)) return value.map((item, i) => toJsonable(item ?? null, `${path}[${i}]`, open));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = toJsonable(item, `${path}.${key}`, open);
    }
    return out;
  } finally {
    open.delete(value);
  }
}

/** The flow's shape a run recorded, or undefined when run() was never called on it. */
export function runShape(run: RunRow): FlowShape | undefined {
  if (run.shape === null) return undefined;
  const shape = JSON.parse(run.shape) as Partial<FlowShape>;
  return { events: shape.events ?? [], steps: shape.steps ?? [], assocs: shape.assocs ?? [] };
}

/** What changed in the flow's definition each time the run was taken up with a changed one, oldest first. */
export function runDefinitionChanges(run: RunRow): DefinitionChangeRecord[] {
  return readStoredShape(run.shape)?.changes ?? [];
}

/** The key the engine stores a delayed assoc under (FlowDefinition.addAssoc builds the same). */
export function assocKey(assoc: FlowShape['assocs'][number]): string {
  return assocKeyOf(assoc.event, assoc.targets);
}

/**
 * A run's status as a reader should see it: a run stored as 'running' whose lease holder is gone
 * (killed, or the program ended without run() finishing) is 'interrupted'.
 */
export function runState(run: RunRow): string {
  if (run.status !== 'running') return run.status;
  return leaseHolderAlive(run, Date.now()) ? 'running' : 'interrupted';
}
