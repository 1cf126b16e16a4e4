import { formatValue } from '../describe.js';
import { parseDuration } from '../duration.js';
import { FlowConfigError, FlowDefinitionError } from '../errors.js';
import type { EventRef } from './event.js';
import { ResourcePool } from './resource-pool.js';
import { STEP_STATUSES, type StepReplay, type StepStatus } from './status.js';

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
type EventList = EventRef | readonly EventRef[];

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
type ConcreteStatus = 'ready' | 'active' | 'success' | 'failure';

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

const STEP_OPTION_KEYS = new Set([
  'func',
  'module',
  'export',
  'command',
  'cwd',
  'env',
  'args',
  'triggers',
  'acquires',
  'releases',
  'recovery',
  'config',
]);
const CONFIG_KEYS = new Set([
  'stopOnException',
  'maxConcurrent',
  'taskConstruct',
  'timeout',
  'retries',
  'backoff',
]);

export function buildStepDef(
  name: string,
  options: RawStepOptions,
  resolveEvent: (value: unknown, where: string) => string,
): StepDef {
  const where = `Step "${name}"`;
  if (typeof options !== 'object' || options === null) {
    throw new FlowDefinitionError(`${where}: options must be an object; got ${formatValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!STEP_OPTION_KEYS.has(key)) {
      throw new FlowDefinitionError(
        `${where}: unknown option "${key}". Known options: ${[...STEP_OPTION_KEYS].join(', ')}.`,
      );
    }
  }
  const kind = stepKind(where, options);
  const args = options.args ?? [];
  if (!Array.isArray(args))
    throw new FlowDefinitionError(`${where}: args must be an array; got ${formatValue(args)}.`);

  const acquires = claims(where, 'acquires', options.acquires ?? []);
  const releasesGiven = options.releases !== undefined;
  const releases = releasesGiven ? claims(where, 'releases', options.releases ?? []) : acquires;
  for (const [pool, amount] of acquires) {
    if (pool.limit >= 0 && amount > pool.limit) {
      throw new FlowDefinitionError(
        `${where} acquires ${amount} of pool "${pool.name}", whose limit is ${pool.limit}: it could never start. ` +
          `Acquire at most ${pool.limit}, or raise the pool's limit.`,
      );
    }
  }

  const triggers = resolveTriggers(where, options.triggers ?? {}, resolveEvent);
  return {
    name,
    kind,
    ...(options.func ? { func: options.func } : {}),
    ...(options.module !== undefined ? { module: String(options.module) } : {}),
    exportName: options.export ?? 'default',
    ...(options.command !== undefined ? { command: options.command } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    args,
    triggers,
    acquires,
    releases,
    releasesGiven,
    recovery: resolveRecovery(where, options.recovery ?? {}),
    config: resolveStepConfig(where, options.config ?? {}),
    handlesFailure: handlesFailure(triggers),
  };
}

/** True when a step with these (resolved) triggers handles its failure: it fires events on failure. */
export function handlesFailure(triggers: Partial<Record<string, readonly string[]>>): boolean {
  return (triggers.failure ?? []).length > 0;
}

function stepKind(where: string, options: RawStepOptions): StepKind {
  const given = ['func', 'module', 'command'].filter(
    (key) => options[key as keyof RawStepOptions] !== undefined,
  );
  if (given.length > 1) {
    throw new FlowDefinitionError(
      `${where}: give one of func, module or command, not ${given.join(' and ')}.`,
    );
  }
  if (options.func !== undefined) {
    if (typeof options.func !== 'function') {
      throw new FlowDefinitionError(`${where}: func must be a function; got ${formatValue(options.func)}.`);
    }
    return 'function';
  }
  if (options.module !== undefined) {
    if (typeof options.module !== 'string' && !(options.module instanceof URL)) {
      throw new FlowDefinitionError(
        `${where}: module must be a path or a URL; got ${formatValue(options.module)}.`,
      );
    }
    return 'module';
  }
  if (options.command !== undefined) {
    const command = options.command;
    const valid =
      (typeof command === 'string' && command.trim().length > 0) ||
      (Array.isArray(command) && command.length > 0 && command.every((part) => typeof part === 'string'));
    if (!valid) {
      throw new FlowDefinitionError(
        `${where}: command must be a non-empty string or array of strings, e.g. ['pg_dump', '-f', 'out.sql']; got ${formatValue(command)}.`,
      );
    }
    return 'command';
  }
  if (options.export !== undefined)
    throw new FlowDefinitionError(`${where}: export is given without a module.`);
  return 'noop';
}

function claims(where: string, option: string, value: unknown): ResourceClaim[] {
  if (!Array.isArray(value)) {
    throw new FlowDefinitionError(
      `${where}: ${option} must be a list of [pool, amount] pairs; got ${formatValue(value)}.`,
    );
  }
  return value.map((claim: unknown) => {
    if (!Array.isArray(claim) || !(claim[0] instanceof ResourcePool)) {
      throw new FlowDefinitionError(
        `${where}: each item of ${option} must be [ResourcePool, amount], e.g. [[pool, 1]]; got ${formatValue(claim)}.`,
      );
    }
    const amount = claim[1] ?? 1;
    if (!Number.isInteger(amount) || amount < 0) {
      throw new FlowDefinitionError(
        `${where}: ${option} of pool "${claim[0].name}" must be a whole number >= 0; got ${formatValue(amount)}.`,
      );
    }
    return [claim[0], amount] as const;
  });
}

function resolveTriggers(
  where: string,
  given: Partial<Record<StepStatus, EventList>>,
  resolveEvent: (value: unknown, where: string) => string,
): Record<ConcreteStatus, string[]> {
  const out: Record<ConcreteStatus, string[]> = { ready: [], active: [], success: [], failure: [] };
  if (typeof given !== 'object' || given === null) {
    throw new FlowDefinitionError(
      `${where}: triggers must map statuses to events; got ${formatValue(given)}.`,
    );
  }
  for (const [status, events] of Object.entries(given)) {
    if (!STEP_STATUSES.includes(status as StepStatus)) {
      throw new FlowDefinitionError(
        `${where}: triggers has unknown status "${status}"; use one of ${STEP_STATUSES.join(', ')}.`,
      );
    }
    if (events === undefined) continue;
    const list = Array.isArray(events) ? events : [events];
    const names = list.map((event) => resolveEvent(event, `${where} triggers.${status}`));
    const targets: ConcreteStatus[] =
      status === 'complete' ? ['success', 'failure'] : [status as ConcreteStatus];
    for (const target of targets)
      for (const name of names) if (!out[target].includes(name)) out[target].push(name);
  }
  return out;
}

function resolveRecovery(
  where: string,
  given: Partial<Record<StepStatus, StepReplay>>,
): Record<ConcreteStatus, StepReplay> {
  const out: Record<ConcreteStatus, StepReplay> = {
    ready: 'rerun',
    active: 'rerun',
    success: 'skip',
    failure: 'rerun',
  };
  if (typeof given !== 'object' || given === null) {
    throw new FlowDefinitionError(
      `${where}: recovery must map statuses to 'rerun' or 'skip'; got ${formatValue(given)}.`,
    );
  }
  const complete = given.complete;
  const entries = Object.entries(given).filter(([status]) => status !== 'complete');
  if (complete !== undefined) entries.unshift(['success', complete], ['failure', complete]);
  for (const [status, replay] of entries) {
    if (!STEP_STATUSES.includes(status as StepStatus)) {
      throw new FlowDefinitionError(
        `${where}: recovery has unknown status "${status}"; use one of ${STEP_STATUSES.join(', ')}.`,
      );
    }
    if (replay !== 'rerun' && replay !== 'skip') {
      throw new FlowDefinitionError(
        `${where}: recovery.${status} must be 'rerun' or 'skip'; got ${formatValue(replay)}.`,
      );
    }
    out[status as ConcreteStatus] = replay;
  }
  return out;
}

export function resolveStepConfig(where: string, config: StepConfig): ResolvedStepConfig {
  checkConfigKeys(where, config, CONFIG_KEYS);
  const stopOnException = booleanOption(where, 'stopOnException', config.stopOnException);
  const taskConstruct = constructOption(where, config.taskConstruct);
  const maxConcurrent = integerOption(
    where,
    'maxConcurrent',
    config.maxConcurrent ?? -1,
    Number.NEGATIVE_INFINITY,
  );
  const retries = integerOption(where, 'retries', config.retries ?? 0, 0);
  return {
    stopOnException,
    maxConcurrent: maxConcurrent < 1 ? -1 : maxConcurrent,
    taskConstruct,
    timeoutMs:
      config.timeout === undefined ? undefined : parseDuration(config.timeout, `${where} config.timeout`),
    retries,
    backoffMs: config.backoff === undefined ? 0 : parseDuration(config.backoff, `${where} config.backoff`),
  };
}

/** Checks that `config` is an object with only known options; shared by eventor and step configs. */
export function checkConfigKeys(where: string, config: unknown, known: ReadonlySet<string>): void {
  if (typeof config !== 'object' || config === null) {
    throw new FlowConfigError(`${where}: option "config" must be an object; got ${formatValue(config)}.`);
  }
  for (const key of Object.keys(config)) {
    if (!known.has(key)) {
      throw new FlowConfigError(`${where}: unknown config option "${key}". Known: ${[...known].join(', ')}.`);
    }
  }
}

export function booleanOption(where: string, option: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new FlowConfigError(`${where}: config.${option} must be a boolean; got ${formatValue(value)}.`);
  }
  return value;
}

export function constructOption(where: string, value: unknown): TaskConstruct | undefined {
  if (value !== undefined && !TASK_CONSTRUCTS.includes(value as TaskConstruct)) {
    throw new FlowConfigError(
      `${where}: config.taskConstruct must be one of ${TASK_CONSTRUCTS.join(', ')}; got ${formatValue(value)}.`,
    );
  }
  return value as TaskConstruct | undefined;
}

export function integerOption(where: string, option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    const bound = Number.isFinite(min) ? ` >= ${min}` : '';
    throw new FlowConfigError(
      `${where}: config.${option} must be a whole number${bound}; got ${formatValue(value)}.`,
    );
  }
  return value;
}

/** Checks step options as `Eventor.addStep` does, without adding a step; `triggers` must be absent. */
export function checkStepOptions(name: string, options: Omit<RawStepOptions, 'triggers'>): void {
  buildStepDef(name, options, (_value, where) => {
    throw new FlowDefinitionError(`${where}: checkStepOptions does not resolve events; leave triggers out.`);
  });
}
