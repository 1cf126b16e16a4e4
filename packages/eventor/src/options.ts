/**
 * Every check of what users hand the engine, one copy: Eventor options and config, run options,
 * task queries, names and sequences, and step options and configs (addStep, and sequent's leaves
 * through checkStepOptions). Each throws FlowConfigError or FlowDefinitionError naming the option.
 */
import { formatValue } from './describe.js';
import { type Duration, parseDuration } from './duration.js';
import { FlowConfigError, FlowDefinitionError } from './errors.js';
import { LOG_LEVELS, type Logger, type LogLevel } from './logger.js';
import { StepRef } from './model/event.js';
import { ResourcePool } from './model/resource-pool.js';
import { RUN_MODES, type RunMode, STEP_STATUSES, type StepReplay, type StepStatus } from './model/status.js';
import {
  type ConcreteStatus,
  type EventList,
  handlesFailure,
  type RawStepOptions,
  type ResolvedStepConfig,
  type ResourceClaim,
  type StepConfig,
  type StepDef,
  type StepKind,
  TASK_CONSTRUCTS,
  type TaskConstruct,
} from './model/step.js';
import type { ProgressOptions } from './progress/index.js';
import { TestClock } from './runtime/clock.js';
import type { RunSettings } from './runtime/loop.js';
import type { RunObserver } from './runtime/observer.js';
import { parseStoreLocation, type StoreOption } from './store/location.js';

export interface EventorConfig {
  /** Cap on tasks running at once in this eventor; < 1 = no cap (default). */
  maxConcurrent?: number;
  /** After an unhandled failure, start no new task (default true). */
  stopOnException?: boolean;
  /** How function steps run: 'inline' (default), 'worker' or 'process'. */
  taskConstruct?: TaskConstruct;
  /** Prefix of the env vars given to worker/process/command steps (default 'EVENTOR_'). */
  envPrefix?: string;
}

export interface EventorOptions {
  name?: string;
  /** A file path (or `file:` URL, or ':memory:'), a `postgres://` URL, or `{ url, schema }` (see API.md). */
  store?: StoreOption;
  runMode?: RunMode;
  runId?: string;
  logger?: Logger;
  logLevel?: LogLevel;
  handleSignals?: boolean;
  /** Virtual time for tests (see TestClock); default the system clock. */
  clock?: TestClock;
  /** How long a silent holder's lease outlives it before another process may take the run (default '15s'). */
  leaseTtl?: Duration;
  /** How long to wait for another process's write to the store file before failing (default '30s'). */
  busyTimeout?: Duration;
  config?: EventorConfig;
}

export interface RunOptions {
  /** Follows the run as it goes; `progress: true` installs the built-in progress view. */
  observer?: RunObserver;
  /** Passes to make; a pass acts on everything ready now and waits for the tasks it started. */
  maxLoops?: number;
  /** Live progress on a TTY, log lines otherwise; an object says how to group the steps into rows. */
  progress?: boolean | ProgressOptions;
}

export interface TaskQueryOptions<R = unknown> {
  status?: import('./model/status.js').TaskStatus;
  /** A step's handle (which types the records' result) or its name. */
  step?: StepRef<R> | string;
  recovery?: number;
  /** Page size and the number of records to pass over, for paging through large runs. */
  limit?: number;
  offset?: number;
}

/** The Eventor's options with defaults applied, checked. */
export interface ResolvedEventorOptions {
  name: string;
  store: StoreOption;
  runMode: RunMode;
  runId: string | undefined;
  logger: Logger | undefined;
  logLevel: LogLevel;
  handleSignals: boolean;
  clock: TestClock | undefined;
  leaseTtlMs: number;
  busyTimeoutMs: number | undefined;
  settings: RunSettings;
}

/** The `leaseTtl` option's default. */
export const DEFAULT_LEASE_TTL_MS = 15_000;

const OPTION_KEYS = new Set([
  'name',
  'store',
  'runMode',
  'runId',
  'logger',
  'logLevel',
  'handleSignals',
  'clock',
  'leaseTtl',
  'busyTimeout',
  'config',
]);
const EVENTOR_CONFIG_KEYS = new Set(['maxConcurrent', 'stopOnException', 'taskConstruct', 'envPrefix']);

export function resolveEventorOptions(
  options: EventorOptions,
  defaults: { name: string; store: (name: string) => string },
): ResolvedEventorOptions {
  if (typeof options !== 'object' || options === null) {
    throw new FlowConfigError(`Eventor options must be an object; got ${formatValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new FlowConfigError(
        `Unknown Eventor option "${key}". Known options: ${[...OPTION_KEYS].join(', ')}.`,
      );
    }
  }
  const name = options.name ?? defaults.name;
  if (typeof name !== 'string' || name.length === 0) {
    throw new FlowConfigError(`Option "name" must be a non-empty string; got ${formatValue(options.name)}.`);
  }
  const runMode = options.runMode ?? 'restart';
  if (!RUN_MODES.includes(runMode)) {
    throw new FlowConfigError(
      `Option "runMode" must be one of ${RUN_MODES.join(', ')}; got ${formatValue(options.runMode)}.`,
    );
  }
  if (options.runId !== undefined && (typeof options.runId !== 'string' || options.runId.length === 0)) {
    throw new FlowConfigError(
      `Option "runId" must be a non-empty string; got ${formatValue(options.runId)}.`,
    );
  }
  const logLevel = options.logLevel ?? 'warn';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new FlowConfigError(
      `Option "logLevel" must be one of ${LOG_LEVELS.join(', ')}; got ${formatValue(logLevel)}.`,
    );
  }
  const handleSignals = booleanOption('Eventor', 'handleSignals', options.handleSignals, '') ?? false;
  if (options.clock !== undefined && !(options.clock instanceof TestClock)) {
    throw new FlowConfigError(
      `Option "clock" must be a TestClock (new TestClock() from @flow/eventor), or left out for the system clock; got ${formatValue(options.clock)}.`,
    );
  }
  const store = options.store ?? defaults.store(name);
  parseStoreLocation(store); // throws FlowConfigError for a bad one
  if (store === ':memory:' && runMode !== 'restart') {
    throw new FlowConfigError(
      `runMode '${runMode}' needs a store file: an in-memory store (':memory:') keeps nothing to ${runMode}.`,
    );
  }
  const leaseTtlMs =
    options.leaseTtl === undefined ? DEFAULT_LEASE_TTL_MS : parseDuration(options.leaseTtl, 'leaseTtl');
  if (leaseTtlMs < 100) {
    throw new FlowConfigError(
      `Option "leaseTtl" must be at least 100ms, so that its holder can renew it in time; got ${formatValue(options.leaseTtl)}.`,
    );
  }
  return {
    name,
    store,
    runMode,
    runId: options.runId,
    logger: options.logger,
    logLevel,
    handleSignals,
    clock: options.clock,
    leaseTtlMs,
    busyTimeoutMs:
      options.busyTimeout === undefined ? undefined : parseDuration(options.busyTimeout, 'busyTimeout'),
    settings: resolveEventorConfig(options.config ?? {}),
  };
}

function resolveEventorConfig(config: EventorConfig): RunSettings {
  checkConfigKeys('Eventor', config, EVENTOR_CONFIG_KEYS);
  const maxConcurrent = integerOption(
    'Eventor',
    'maxConcurrent',
    config.maxConcurrent ?? -1,
    Number.NEGATIVE_INFINITY,
  );
  const stopOnException = booleanOption('Eventor', 'stopOnException', config.stopOnException) ?? true;
  const taskConstruct = constructOption('Eventor', config.taskConstruct) ?? 'inline';
  const envPrefix = config.envPrefix ?? 'EVENTOR_';
  if (typeof envPrefix !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(envPrefix)) {
    throw new FlowConfigError(
      `Eventor: config.envPrefix must be a valid env var prefix such as 'EVENTOR_'; got ${formatValue(envPrefix)}.`,
    );
  }
  return { maxConcurrent, stopOnException, taskConstruct, envPrefix };
}

/** `run()`'s maxLoops: omitted or negative = no limit. */
export function resolveMaxLoops(value: unknown): number {
  const maxLoops = value ?? -1;
  if (!Number.isInteger(maxLoops))
    throw new FlowConfigError(`Option "maxLoops" must be an integer; got ${formatValue(maxLoops)}.`);
  return maxLoops as number;
}

/** A lone UTF-16 surrogate: SQLite would store it as U+FFFD, so the name would change. */
const NOT_WELL_FORMED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function checkName(kind: 'Event' | 'Step', name: unknown): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new FlowDefinitionError(`${kind} name must be a non-empty string; got ${formatValue(name)}.`);
  }
  if (NOT_WELL_FORMED.test(name)) {
    throw new FlowDefinitionError(
      `${kind} name ${formatValue(name)} is not well-formed text (a lone UTF-16 surrogate).`,
    );
  }
}

export function checkOptionsObject(where: string, options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new FlowDefinitionError(`${where}: options must be an object; got ${formatValue(options)}.`);
  }
}

export function normalizeSequence(sequence: unknown): string {
  if (typeof sequence === 'number' && Number.isFinite(sequence)) return String(sequence);
  if (typeof sequence === 'string' && sequence.length > 0 && !NOT_WELL_FORMED.test(sequence)) return sequence;
  throw new FlowDefinitionError(
    `triggerEvent: sequence must be a non-empty, well-formed string or a finite number; got ${formatValue(sequence)}.`,
  );
}

const TASK_QUERY_KEYS = new Set(['status', 'step', 'recovery', 'limit', 'offset']);

export function checkTaskQuery(query: unknown): asserts query is TaskQueryOptions {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new FlowConfigError(
      `tasks(query): the query must be an object such as { status: 'failure' }; got ${formatValue(query)}.`,
    );
  }
  for (const [key, value] of Object.entries(query)) {
    if (!TASK_QUERY_KEYS.has(key)) {
      throw new FlowConfigError(
        `tasks(query): unknown option "${key}". Known: ${[...TASK_QUERY_KEYS].join(', ')}.`,
      );
    }
    if (value === undefined) continue;
    const text = key === 'status' || key === 'step';
    const valid = text
      ? typeof value === 'string' || (key === 'step' && value instanceof StepRef)
      : Number.isInteger(value) && (value as number) >= 0;
    if (!valid) {
      const expected = key === 'step' ? "a step's handle or name" : text ? 'a string' : 'a whole number >= 0';
      throw new FlowConfigError(
        `tasks(query): option "${key}" must be ${expected}; got ${formatValue(value)}.`,
      );
    }
  }
}

// ---- steps ----------------------------------------------------------------------------------------

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

/** A step's options, checked, with defaults applied and `complete` expanded. */
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

export function booleanOption(
  where: string,
  option: string,
  value: unknown,
  prefix = 'config.',
): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new FlowConfigError(`${where}: ${prefix}${option} must be a boolean; got ${formatValue(value)}.`);
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
