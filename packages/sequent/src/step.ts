import type {
  Duration,
  ResourceClaim,
  StepArgs,
  StepConfig,
  StepResult,
  StepSettings,
  StepStatus,
  StepWork,
} from '@flow/eventor';

/**
 * Options of `addStep`. Leaf steps take eventor's step work (func with its args checked, module,
 * command) and settings; containers take `repeats`. The type parameters are inferred by `addStep`.
 */
export type SequentStepOptions<
  // biome-ignore lint/suspicious/noExplicitAny: any[] accepts functions whatever their parameters
  A extends StepArgs = any[],
  R = unknown,
  M extends string | URL = string | URL,
  C extends string | readonly string[] = string | readonly string[],
> = StepWork<A, R, M, C> &
  Pick<StepSettings, 'cwd' | 'env' | 'recovery'> & {
    /** Container: one iteration per value, one after another (default `[1]`; empty = none). */
    repeats?: Iterable<unknown>;
    /** All must hold (in this step's sequence) before the step starts. */
    requires?: readonly Requirement[];
    /** Wait this long after `requires` hold before starting, per sequence. */
    delay?: Duration;
    /** Taken before the step (or the container's first iteration) starts. */
    acquires?: readonly ResourceClaim[];
    /** Given back when the step (or the container) ends; default `acquires`; `[]` keeps them. */
    releases?: readonly ResourceClaim[];
    /** A leaf's eventor step config; on a container, defaults for the leaves inside it. */
    config?: StepConfig;
  };

/** `[step, status]`: holds once `step` reached `status` (`complete` = success or failure). */
export type StepRequirement = readonly [SequentStep, StepStatus];

/** An `and`/`or` group of requirements, as `and()` and `or()` make it. */
export interface RequirementNode {
  readonly op: 'and' | 'or';
  readonly items: readonly Requirement[];
}

/** An item of `requires`: `[step, status]`, an event from `addEvent`, `and()`/`or()`, or a list (AND). */
export type Requirement = StepRequirement | SequentEvent | RequirementNode | readonly Requirement[];

/** All items must hold. */
export function and(...items: Requirement[]): RequirementNode {
  return { op: 'and', items };
}

/**
 * Any item must hold; an item may itself be a list (an AND group).
 * @example
 * flow.addStep('notify', { func: notify, requires: [or([s1, StepStatus.failure], [s2, StepStatus.complete])] });
 */
export function or(...items: Requirement[]): RequirementNode {
  return { op: 'or', items };
}

/** @internal A requirement with its steps resolved: what the compiler translates. */
export type Req =
  | { kind: 'status'; target: StepNode; status: StepStatus }
  | { kind: 'and' | 'or'; items: Req[] };

/** @internal What a step's handle asks of the tree it belongs to (the tree is `tree.ts`'s FlowTree). */
export interface StepTree {
  readonly flowName: string;
  addStep(parent: StepNode, name: string, options: SequentStepOptions): SequentStep;
  addRequires(node: StepNode, requires: readonly Requirement[]): void;
}

/** @internal A step as the compiler sees it; the root node (path '') stands for the flow. */
export interface StepNode {
  readonly handle: SequentStep | undefined;
  readonly name: string;
  readonly path: string;
  readonly parent: StepNode | undefined;
  readonly children: StepNode[];
  readonly tree: StepTree;
  readonly options: SequentStepOptions;
  /** All must hold; a requirement naming another step is checked against this node's place. */
  readonly requires: Req[];
  /** Materialised once, so a generator gives the same iterations in every enclosing iteration. */
  readonly repeats: readonly unknown[] | undefined;
}

const NODE = Symbol('sequent.node');
/** Type-only: carries a leaf's result type; never set at run time. */
declare const RESULT: unique symbol;

/**
 * A step of a Sequent flow: a leaf that runs work, or a container (a step with children) whose
 * children run once per value of `repeats`. `R` is a leaf's result type (what its func resolves to).
 * @example
 * const s1 = flow.addStep('s1', { repeats: [1, 2] });
 * const s11 = s1.addStep('s11', { func: extract });
 * s11.path; // 's1_s11'
 */
export class SequentStep<R = unknown> {
  /** The name given to `addStep`. */
  readonly name: string;
  /** The name joined to its parents' with `_`, e.g. `s1_s11_s111`; the eventor step name. */
  readonly path: string;
  /** @internal */
  readonly [NODE]: StepNode;
  declare readonly [RESULT]: R;

  /** @internal Made by `Sequent.addStep` and `SequentStep.addStep`. */
  constructor(node: StepNode) {
    this.name = node.name;
    this.path = node.path;
    this[NODE] = node;
  }

  /** The container this step is in; undefined for a top-level step. */
  get parent(): SequentStep | undefined {
    return this[NODE].parent?.handle;
  }

  /** Steps added inside this one, in the order they were added. */
  get children(): readonly SequentStep[] {
    return this[NODE].children.map((child) => child.handle as SequentStep);
  }

  /** True when the step has children or `repeats`: it runs iterations instead of work. */
  get isContainer(): boolean {
    return isContainer(this[NODE]);
  }

  /** Adds a step inside this one, which makes this step a container; a leaf's `args` are checked. */
  addStep<
    A extends StepArgs = [],
    R = never,
    M extends string | URL = never,
    C extends string | readonly string[] = never,
  >(name: string, options?: SequentStepOptions<A, R, M, C>): SequentStep<StepResult<R, M, C>>;
  addStep(name: string, options: SequentStepOptions = {}): SequentStep {
    return this[NODE].tree.addStep(this[NODE], name, options);
  }

  /**
   * Adds requirements after the step was made (all must hold, with those given to `addStep`);
   * useful when a step must wait for a step defined after it.
   */
  addRequires(...requires: Requirement[]): this {
    this[NODE].tree.addRequires(this[NODE], requires);
    return this;
  }
}

/** @internal */
export function nodeOf(step: SequentStep): StepNode {
  return step[NODE];
}

export function isContainer(node: StepNode): boolean {
  return node.parent === undefined || node.children.length > 0 || node.repeats !== undefined;
}

/** The iterations a container runs per sequence (the root flow runs once, in sequence '1'). */
export function iterationCount(node: StepNode): number {
  return node.repeats?.length ?? 1;
}

const REQ = Symbol('sequent.requirement');
const TREE = Symbol('sequent.tree');

/**
 * A reusable requirement from `flow.addEvent(...)`: give it to `requires` of any step that may
 * see the steps it names (their siblings, or steps inside those siblings).
 * @example
 * const done = flow.addEvent([[s1, StepStatus.success]]);
 * flow.addStep('s2', { func: report, requires: [done] });
 */
export class SequentEvent {
  /** @internal */
  readonly [REQ]: Req;
  /** @internal */
  readonly [TREE]: StepTree;

  /** @internal Made by `Sequent.addEvent`. */
  constructor(req: Req, tree: StepTree) {
    this[REQ] = req;
    this[TREE] = tree;
  }
}

/** @internal The requirement an event stands for, and the tree whose `addEvent` made it. */
export function eventOf(event: SequentEvent): { req: Req; tree: StepTree } {
  return { req: event[REQ], tree: event[TREE] };
}
