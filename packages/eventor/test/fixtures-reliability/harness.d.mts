import type * as Lib from '../../src/index.js';
import type { Attempt, Execution, Kill, StoreRows } from './kit.mjs';

export type Expr = { ev: string } | { op: 'list' | 'and' | 'or'; items: Expr[] };
export interface StepSpec {
  name: string;
  kind: 'sync' | 'async' | 'worker' | 'process' | 'command';
  sleepMs: number;
  start:
    | { type: 'root' }
    | { type: 'after'; parent: string; delayMs: number }
    | { type: 'join'; expr: Expr }
    /** starts when the parent's task becomes active (its `active` trigger) */
    | { type: 'active'; parent: string }
    /** starts on an event the (inline) parent fires from its body with triggerEvent */
    | { type: 'pulled'; parent: string };
  pool?: boolean;
  firstRunMs?: number;
  chatty?: boolean;
  doneFile?: string;
}
export interface FlowSpec {
  seed: number;
  runId: string;
  steps: StepSpec[];
  fan?: { from: string; count: number; kind: 'sync' | 'async'; sleepMs: number } | undefined;
  sequences: string[];
  maxConcurrent: number;
  poolLimit: number;
}

export const CHILD_SCRIPT: string;
export const EXECUTIONS: string;
export function makeSpec(seed: number): FlowSpec;
export function makePlan(seed: number, spec: FlowSpec): Kill[];
export function finalMode(seed: number): 'recover' | 'continue';
export function expectedTasks(spec: FlowSpec): string[];
export function buildFlow(
  lib: typeof Lib,
  spec: FlowSpec,
  options: {
    store: string;
    dir: string;
    runMode?: Lib.RunMode;
    onCall?: () => void;
    logger?: Lib.Logger;
  },
): Lib.Eventor;

export interface ScenarioReport {
  seed: number;
  flow: string;
  dir: string;
  attempts: Attempt[];
  failures: string[];
  tasks?: Lib.TaskRecord[];
  executions?: Execution[];
  rows?: StoreRows;
  recoveredAt?: number;
}
export interface ScenarioOptions {
  lib: typeof Lib;
  root?: string;
  keep?: boolean;
  keepOnFailure?: boolean;
  pauseMs?: number;
  finalMode?: 'recover' | 'continue';
}
export function runSeed(seed: number, options: ScenarioOptions): Promise<ScenarioReport>;
export function runScenario(spec: FlowSpec, plan: Kill[], options: ScenarioOptions): Promise<ScenarioReport>;
