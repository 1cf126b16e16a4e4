import type { Attempt, Execution, Kill } from '../../../eventor/test/fixtures-reliability/kit.mjs';
import type * as Lib from '../../src/index.js';

export interface LeafSpec {
  kind: 'sync' | 'async' | 'worker' | 'process' | 'command';
  sleepMs: number;
  /** Work this much longer in recovery 0 (all but sync), so a test can kill the engine meanwhile. */
  firstRunMs?: number;
}
export interface SequentSpec {
  seed: number;
  runId: string;
  outer: number;
  inner: number;
  leaves: { a: LeafSpec; b: LeafSpec; e: LeafSpec; after: LeafSpec; x?: LeafSpec };
  bDelayMs: number;
}

export const CHILD_SCRIPT: string;
export const EXECUTIONS: string;
export function makeSpec(seed: number): SequentSpec;
export function makePlan(seed: number, spec: SequentSpec): Kill[];
export function finalMode(seed: number): 'recover' | 'continue';
export function expectedTasks(spec: SequentSpec): string[];
export function buildFlow(
  lib: typeof Lib,
  spec: SequentSpec,
  options: { store: string; dir: string; runMode?: Lib.RunMode; onCall?: () => void },
): Lib.Sequent;

export interface ScenarioReport {
  seed: number;
  flow: string;
  dir: string;
  attempts: Attempt[];
  failures: string[];
  tasks?: Lib.TaskRecord[];
  executions?: Execution[];
}
export interface ScenarioOptions {
  lib: typeof Lib;
  root?: string;
  keep?: boolean;
  keepOnFailure?: boolean;
  finalMode?: 'recover' | 'continue';
}
export function runSeed(seed: number, options: ScenarioOptions): Promise<ScenarioReport>;
export function runScenario(
  spec: SequentSpec,
  plan: Kill[],
  options: ScenarioOptions,
): Promise<ScenarioReport>;
