import type { EventRef } from './event.js';
import type { ResourcePool } from './resource-pool.js';
import type { StepReplay, StepStatus } from './status.js';

export type TaskConstruct = 'inline' | 'worker' | 'process';
export const TASK_CONSTRUCTS: TaskConstruct[] = ['inline', 'worker', 'process'];

/** Per-step configuration; unset fields inherit the eventor's. */
export interface StepConfig {
  stopOnException?: boolean;
  maxConcurrent?: number;
  taskConstruct?: TaskConstruct;
  timeout?: number | string;
  retries?: number;
  backoff?: number | string;
}

export type ResourceClaim = readonly [ResourcePool, number];
export type EventList = EventRef | readonly EventRef[];

// biome-ignore lint/suspicious/noExplicitAny: any[] accepts functions whatever their parameters
type AnyArgs = any[];
/** A func step's argument list as `addStep` infers it (`| []` makes array literals infer as tuples). */
export type StepArgs = readonly unknown[] | [];
type StepModule = string | URL;
type StepCommand = string | readonly string[];

/** `args` of a func step: the func's parameters; optional when it can be called without any. */
type FuncArgs<A extends StepArgs> = [] extends A ? { args?: Readonly<A> } : { args: Readonly<A> };

/**
 * What a step runs: a func with args checked against its parameters, a module export, a command,
 * or nothing (a no-op step). `addStep` infers the type parameters: the func's args `A` and result
 * `R`, the module `M`, the command `C`.
 */
export type StepWork<
  A extends StepArgs = AnyArgs,
  R = unknown,
  M extends StepModule = StepModule,
  C extends StepCommand = StepCommand,
> =
  | ({
      /** The work: (...args) => value | Promise<value>; throw or reject = failure. */
      func: (...args: A) => R;
      module?: undefined;
      export?: undefined;
      command?: undefined;
    } & FuncArgs<A>)
  | {
      /** Worker/process steps: the module (path or URL) and its export to call. */
      module: M;
      export?: string;
      args?: readonly unknown[];
      func?: undefined;
      command?: undefined;
    }
  | {
      /** Command steps: an executable with its args, or one string run by the shell. */
      command: C;
      func?: undefined;
      module?: undefined;
      export?: undefined;
      args?: undefined;
    }
  | { func?: undefined; module?: undefined; export?: undefined; command?: undefined; args?: undefined };

/**
 * A step's result type from its `StepWork` parameters: what its func resolves to; unknown for a
 * module or command step, undefined for a no-op step (no func: `R` stays `never`).
 */
export type StepResult<R, M, C> = [R] extends [never]
  ? [M | C] extends [never]
    ? undefined
    : unknown
  : Awaited<R>;

/** How a step runs, whatever it runs. */
export interface StepSettings {
  cwd?: string;
  env?: Record<string, string>;
  triggers?: Partial<Record<StepStatus, EventList>>;
  acquires?: readonly ResourceClaim[];
  releases?: readonly ResourceClaim[];
  recovery?: Partial<Record<StepStatus, StepReplay>>;
  config?: StepConfig;
}

/** Options of `addStep`: what the step runs (`StepWork`) and how. */
export type StepOptions<
  A extends StepArgs = AnyArgs,
  R = unknown,
  M extends StepModule = StepModule,
  C extends StepCommand = StepCommand,
> = StepWork<A, R, M, C> & StepSettings;

/** Step options as `buildStepDef` takes them: unchecked, since callers may not use TypeScript. */
export interface RawStepOptions extends StepSettings {
  func?: (...args: AnyArgs) => unknown;
  module?: StepModule;
  export?: string;
  command?: StepCommand;
  args?: readonly unknown[];
}

export type StepKind = 'noop' | 'function' | 'module' | 'command';
export type ConcreteStatus = 'ready' | 'active' | 'success' | 'failure';

/** A step as the engine uses it: validated, defaults applied, `complete` expanded. */
export interface StepDef {
  name: string;
  kind: StepKind;
  // biome-ignore lint/suspicious/noExplicitAny: as in StepOptions.func
  func?: (...args: any[]) => unknown;
  module?: string;
  exportName: string;
  command?: string | readonly string[];
  cwd?: string;
  env?: Record<string, string>;
  args: readonly unknown[];
  triggers: Record<ConcreteStatus, string[]>;
  acquires: ResourceClaim[];
  releases: ResourceClaim[];
  releasesGiven: boolean;
  recovery: Record<ConcreteStatus, StepReplay>;
  config: ResolvedStepConfig;
  /** True when a failure of this step is handled (it has failure or complete triggers). */
  handlesFailure: boolean;
}

export interface ResolvedStepConfig {
  stopOnException: boolean | undefined;
  maxConcurrent: number;
  taskConstruct: TaskConstruct | undefined;
  timeoutMs: number | undefined;
  retries: number;
  backoffMs: number;
}

/** True when a step with these (resolved) triggers handles its failure: it fires events on failure. */
export function handlesFailure(triggers: Partial<Record<string, readonly string[]>>): boolean {
  return (triggers.failure ?? []).length > 0;
}
