import {
  currentStep,
  Eventor,
  type EventorOptions,
  type TaskQueryOptions as EventorTaskQuery,
  type PendingWork,
  type RunOptions,
  type RunResult,
  type StepArgs,
  type StepResult,
  type TaskRecord,
} from '@flow/eventor';
import { type CompiledFlow, compileFlow } from './compile.js';
import { FLOW_SEQUENCE } from './names.js';
import { type Requirement, SequentEvent, SequentStep, type SequentStepOptions } from './step.js';
import { FlowTree } from './tree.js';
import { normalizeRequirement } from './validate.js';

/** Sequent takes Eventor's options; `config.envPrefix` defaults to `'SEQUENT_'`. */
export type SequentOptions = EventorOptions;

/** Eventor's task query, with `step` a leaf's handle (which types the records' result) or its path. */
export interface TaskQueryOptions<R = unknown> extends Omit<EventorTaskQuery, 'step'> {
  step?: SequentStep<R> | string;
}

/**
 * A flow of steps, containers of steps and their requirements, run (and recovered) by an Eventor
 * on a SQLite store.
 * @example
 * const flow = new Sequent({ store: './nightly.run.db' });
 * const s1 = flow.addStep('s1', { repeats: [1, 2] });
 * const s11 = s1.addStep('s11', { func: extract });
 * s1.addStep('s12', { func: load, requires: [[s11, StepStatus.success]] });
 * flow.addStep('s2', { func: report, requires: [[s1, StepStatus.success]] });
 * const result = await flow.run();
 * flow.close();
 */
export class Sequent {
  /** The flow's name (the eventor's: its store rows and logs carry it). */
  readonly name: string;
  private readonly eventor: Eventor;
  private readonly tree: FlowTree;
  private compiled: CompiledFlow | undefined;
  private compileError: unknown;

  constructor(options: SequentOptions = {}) {
    const given = options?.config;
    const config =
      given === undefined
        ? { envPrefix: 'SEQUENT_' }
        : isPlainObject(given)
          ? { envPrefix: 'SEQUENT_', ...given }
          : given;
    this.eventor = new Eventor({ ...options, config });
    this.name = this.eventor.name;
    this.tree = new FlowTree(this.name);
  }

  /** The run this flow acts on (created or looked up on first use). */
  get runId(): string {
    return this.eventor.runId;
  }

  /** The recovery number of this run: 0 for the first, +1 for each recover. */
  get recovery(): number {
    return this.eventor.recovery;
  }

  /** Adds a top-level step; it runs in sequence '1'. A leaf's `args` are checked against its func. */
  addStep<
    A extends StepArgs = [],
    R = never,
    M extends string | URL = never,
    C extends string | readonly string[] = never,
  >(name: string, options?: SequentStepOptions<A, R, M, C>): SequentStep<StepResult<R, M, C>>;
  addStep(name: string, options: SequentStepOptions = {}): SequentStep {
    return this.tree.addStep(this.tree.root, name, options);
  }

  /**
   * A reusable requirement (a list is AND; `or()`/`and()` nest) to give to steps' `requires`.
   * @example
   * const done = flow.addEvent([[s1, StepStatus.success]]);
   * flow.addStep('s2', { func: prog, requires: [done] });
   */
  addEvent(requires: Requirement): SequentEvent {
    return new SequentEvent(normalizeRequirement(requires, 'addEvent', this.tree), this.tree);
  }

  /**
   * Compiles the flow (on the first call), starts it in sequence '1' and runs it like `Eventor.run`;
   * `progress` nests the steps by container.
   */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const compiled = this.compile();
    this.eventor.triggerEvent(compiled.start, FLOW_SEQUENCE);
    if (!options.progress) return this.eventor.run(options);
    // the progress view nests steps by container and hides their bookkeeping: sequent's grouping
    const given = typeof options.progress === 'object' ? options.progress : {};
    return this.eventor.run({
      ...options,
      progress: { ...given, groups: given.groups ?? compiled.progressGroups },
    });
  }

  /** Inside a running step: its path, e.g. `'s1_s11_s111'`. Throws outside a step. */
  getStepName(): string {
    return currentStep().name;
  }

  /** Inside a running step: its sequence, e.g. `'1.2.2'`. Throws outside a step. */
  getStepSequence(): string {
    return currentStep().sequence;
  }

  /** Task records of the leaf steps of this run, every recovery, oldest first; `step` may be a handle. */
  tasks<R = unknown>(query?: TaskQueryOptions<R>): TaskRecord<R>[];
  tasks(query: TaskQueryOptions = {}): TaskRecord[] {
    const leaves = this.compiled?.leafPaths ?? new Set(this.tree.leaves().map((node) => node.path));
    const { limit, offset, step, ...filter } = query;
    const path = step instanceof SequentStep ? step.path : step;
    const rows = this.eventor.tasks({ ...filter, step: path }).filter((task) => leaves.has(task.step));
    const start = offset ?? 0;
    return limit === undefined ? rows.slice(start) : rows.slice(start, start + limit);
  }

  /** Work not yet done in this run (containers' bookkeeping included). */
  pending(): PendingWork {
    return this.eventor.pending();
  }

  /** Aborts running steps and records them failed; the run stays recoverable. */
  stop(reason?: string): void {
    this.eventor.stop(reason);
  }

  /** Closes the store; idempotent. */
  close(): void {
    this.eventor.close();
  }

  private compile(): CompiledFlow {
    if (this.compiled) return this.compiled;
    if (this.compileError !== undefined) throw this.compileError;
    this.tree.freeze('its first run()');
    try {
      this.compiled = compileFlow(this.tree, this.eventor);
      // the tools (eventor graph, show, why, ui) show the run as this tree
      this.eventor.describeTree(this.compiled.tree);
    } catch (error) {
      // Half of the flow may be on the eventor by now; a second attempt could only mislead.
      this.compileError = error;
      throw error;
    }
    return this.compiled;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
