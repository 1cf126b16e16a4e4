export interface Rng {
  next(): number;
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(list: readonly T[]): T;
  sample<T>(list: readonly T[], n: number): T[];
}
export function rng(seed: number): Rng;

/** One recorded step call: step, sequence, recovery, pid of the process that ran it, time (ms). */
export interface Execution {
  s: string;
  q: string;
  r: number;
  pid: number;
  t: number;
}
export function recordExecution(file: string, record: Execution): void;
export function readExecutions(file: string): Execution[];

export interface ChildOutcome {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
  hung: boolean;
  stderr: string;
  messages: Array<{ type: string; [key: string]: unknown }>;
}
export function runChild(
  script: string,
  args: string[],
  options?: {
    env?: Record<string, string>;
    killAfterRunningMs?: number;
    killAfterSpawnMs?: number;
    killWhen?: () => boolean;
    timeoutMs?: number;
  },
): Promise<ChildOutcome>;

/** Where a child is killed; `mode` is how it takes up a run that exists (default recover). */
export type Kill = (
  | { kind: 'after' | 'inside' | 'call'; at: number }
  | { kind: 'time' | 'early'; ms: number }
) & { mode?: 'recover' | 'continue' };
export function describeKill(kill: Kill): string;

export interface Attempt {
  runMode: string;
  kill: string;
  outcome: string;
}
export interface Report {
  attempts: Attempt[];
  failures: string[];
}
export function runKillPlan(options: {
  plan: Kill[];
  childScript: string;
  childArgs: (runMode: 'restart' | 'recover') => string[];
  store: string;
  runId: string;
  report: Report;
}): Promise<boolean>;

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T>;

export interface TaskRow {
  step: string;
  sequence: string;
  recovery: number;
  status: string;
  skipped: boolean;
  attempts: number;
}
export interface StoreRows {
  integrity: string;
  run:
    | { id: string; recovery: number; status: string; leasePid: number | null; leaseToken: string | null }
    | undefined;
  tasks: TaskRow[];
  triggers: Array<{ event: string; sequence: string; recovery: number; acted: number }>;
  delays: Array<{ assoc: string; sequence: string; recovery: number; dueAt: number; fired: number }>;
}
export function readStore(store: string, runId: string): Promise<StoreRows | undefined>;
export function scenarioStore(dir: string): string;
export function dropStore(store: string): Promise<void>;
export function storeDigest(store: string): Promise<string>;

export function checkInvariants(input: {
  expected: readonly string[];
  tasks: ReadonlyArray<{
    step: string;
    sequence: string;
    recovery: number;
    status: string;
    skipped: boolean;
    updatedAt?: Date | number;
  }>;
  executions: ReadonlyArray<{ s: string; q: string; r: number; pid?: number; t?: number }>;
  finalRecovery: number;
  continued?: boolean;
}): string[];

export function summarize(failures: readonly string[], count?: number): string;
