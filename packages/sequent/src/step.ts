import {
  type Duration,
  FlowError,
  parseDuration,
  type ResourceClaim,
  ResourcePool,
  type StepArgs,
  type StepConfig,
  type StepResult,
  type StepSettings,
  type StepWork,
} from '@flow/eventor';
import { SequentError } from './errors.js';
import { normalizeRequirement, type Req, type Requirement } from './requires.js';

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

/** `addStep` options as the checks take them: unchecked, since callers may not use TypeScript. */
type RawStepOptions = Omit<SequentStepOptions, keyof StepWork> & { [K in keyof StepWork]?: unknown };

const LEAF_KEYS = ['func', 'module', 'export', 'command', 'cwd', 'env', 'args', 'recovery'] as const;
const SHARED_KEYS = ['requires', 'delay', 'acquires', 'releases', 'config'] as const;
const KNOWN_KEYS = new Set<string>([...LEAF_KEYS, ...SHARED_KEYS, 'repeats']);

/** @internal A step as the compiler sees it; the root node (path '') stands for the flow. */
export interface StepNode {
  readonly handle: SequentStep | undefined;
  readonly name: string;
  readonly path: string;
  readonly parent: StepNode | undefined;
  readonly children: StepNode[];
  readonly tree: FlowTree;
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

export function ancestors(node: StepNode): StepNode[] {
  const out: StepNode[] = [];
  for (let at = node.parent; at?.parent !== undefined; at = at.parent) out.push(at);
  return out;
}

/** @internal The step tree of one Sequent: adds and checks steps and requirements. */
export class FlowTree {
  readonly root: StepNode;
  private readonly byPath = new Map<string, StepNode>();
  private compiledAt: string | undefined;

  constructor(readonly flowName: string) {
    this.root = {
      handle: undefined,
      name: '',
      path: '',
      parent: undefined,
      children: [],
      tree: this,
      options: {},
      requires: [],
      repeats: undefined,
    };
  }

  /** No step may be added or changed once the flow has been compiled for a run. */
  freeze(reason: string): void {
    this.compiledAt ??= reason;
  }

  nodes(): StepNode[] {
    return [...this.byPath.values()];
  }

  leaves(): StepNode[] {
    return this.nodes().filter((node) => !isContainer(node));
  }

  addStep(parent: StepNode, name: string, options: SequentStepOptions): SequentStep {
    this.checkOpen(`add step ${formatName(name)}`);
    checkName(name, parent);
    const path = parent.path === '' ? name : `${parent.path}_${name}`;
    const taken = this.byPath.get(path);
    if (taken) {
      const same = taken.parent === parent;
      throw new SequentError(
        'definition',
        same
          ? `Step "${path}" is already defined in this flow; step names are unique within their container. Choose another name.`
          : `Step "${name}" in ${describeParent(parent)} would have path "${path}", which step "${taken.path}" already has ` +
              `(paths join names with "_"). Rename one of them.`,
        { steps: [path] },
      );
    }
    if (parent.parent !== undefined) checkCanHoldChildren(parent);
    const where = `Step "${path}"`;
    checkOptions(where, options);
    const node: StepNode = {
      handle: undefined,
      name,
      path,
      parent,
      children: [],
      tree: this,
      options,
      requires: [],
      repeats: options.repeats === undefined ? undefined : materialize(where, options.repeats),
    };
    const handle = new SequentStep(node);
    (node as { handle: SequentStep }).handle = handle;
    const requires = normalizeRequires(where, options.requires, this);
    this.checkPlacement(node, requires);
    parent.children.push(node);
    this.byPath.set(path, node);
    for (const requirement of requires) node.requires.push(requirement);
    try {
      this.checkCycles(node);
    } catch (error) {
      parent.children.pop();
      this.byPath.delete(path);
      throw error;
    }
    return handle;
  }

  addRequires(node: StepNode, items: readonly Requirement[]): void {
    this.checkOpen(`add requires to step "${node.path}"`);
    const requires = normalizeRequires(`Step "${node.path}" addRequires`, items, this);
    this.checkPlacement(node, requires);
    const before = node.requires.length;
    for (const requirement of requires) node.requires.push(requirement);
    try {
      this.checkCycles(node);
    } catch (error) {
      node.requires.length = before;
      throw error;
    }
  }

  /** Every check again, for `run()`: a flow that passed them step by step passes them as a whole. */
  validate(): void {
    for (const node of this.nodes()) this.checkPlacement(node, node.requires);
    this.checkCycles();
  }

  /**
   * The step of `node` or of one of its containers that is a sibling of `target`: requirements are
   * matched in that step's sequence. Throws for targets that have no such place.
   */
  liftTo(node: StepNode, target: StepNode): StepNode {
    if (target === node) {
      throw new SequentError(
        'requires',
        `Step "${node.path}" requires itself; a step cannot wait for its own status. Remove that requirement.`,
        { steps: [node.path] },
      );
    }
    for (let at: StepNode | undefined = node.parent; at !== undefined; at = at.parent) {
      if (at === target) {
        throw new SequentError(
          'requires',
          `Step "${node.path}" requires its own container "${target.path}", which cannot end before the steps inside it do. ` +
            `Require a sibling of "${node.path}" instead, or move the requirement to a step after "${target.path}".`,
          { steps: [node.path, target.path] },
        );
      }
    }
    for (let at: StepNode | undefined = target.parent; at !== undefined; at = at.parent) {
      if (at === node) {
        throw new SequentError(
          'requires',
          `Container "${node.path}" requires "${target.path}", which is inside it and runs only after the container starts. ` +
            `Give the requirement to a step inside "${node.path}" instead.`,
          { steps: [node.path, target.path] },
        );
      }
    }
    for (let at: StepNode | undefined = node; at?.parent !== undefined; at = at.parent) {
      if (at.parent === target.parent) return at;
    }
    const outer = target.parent as StepNode;
    throw new SequentError(
      'requires',
      `Step "${node.path}" requires "${target.path}", which is inside container "${outer.path}" that does not enclose ` +
        `"${node.path}": it runs once per iteration of "${outer.path}", so there is no single status to wait for. ` +
        `Require the container "${outermostBelowCommon(node, target).path}" instead.`,
      { steps: [node.path, target.path] },
    );
  }

  private checkPlacement(node: StepNode, requires: readonly Req[]): void {
    for (const target of requirementTargets(requires)) this.liftTo(node, target);
  }

  /**
   * Requirements between siblings (a nested step's requirement counts for its container) must not
   * loop. The search starts where `changed` sits, so a cycle is reported from the step just changed.
   */
  private checkCycles(changed?: StepNode): void {
    const edges = new Map<StepNode, Array<{ to: StepNode; via: StepNode }>>();
    for (const node of this.nodes()) {
      for (const target of requirementTargets(node.requires)) {
        const from = this.liftTo(node, target);
        const list = edges.get(from) ?? [];
        list.push({ to: target, via: node });
        edges.set(from, list);
      }
    }
    const state = new Map<StepNode, 'open' | 'done'>();
    const stack: Array<{ node: StepNode; via: StepNode | undefined }> = [];
    const visit = (node: StepNode, via: StepNode | undefined): void => {
      state.set(node, 'open');
      stack.push({ node, via });
      for (const edge of edges.get(node) ?? []) {
        const seen = state.get(edge.to);
        if (seen === 'open') throw cycleError(stack, edge);
        if (seen === undefined) visit(edge.to, edge.via);
      }
      stack.pop();
      state.set(node, 'done');
    };
    const first = changed
      ? [...requirementTargets(changed.requires)].map((target) => this.liftTo(changed, target))
      : [];
    for (const node of [...first, ...edges.keys()]) if (!state.has(node)) visit(node, undefined);
  }

  private checkOpen(what: string): void {
    if (this.compiledAt !== undefined) {
      throw new SequentError(
        'compiled',
        `Cannot ${what}: flow "${this.flowName}" was compiled by ${this.compiledAt}. Define every step before the first run().`,
      );
    }
  }
}

function cycleError(
  stack: Array<{ node: StepNode; via: StepNode | undefined }>,
  closing: { to: StepNode; via: StepNode },
): SequentError {
  const start = stack.findIndex((entry) => entry.node === closing.to);
  const loop = stack.slice(start);
  const names = [...loop.map((entry) => entry.node.path), closing.to.path];
  const reasons: string[] = [];
  for (let i = 0; i < loop.length; i++) {
    const from = loop[i] as { node: StepNode };
    const next = i + 1 < loop.length ? (loop[i + 1] as { node: StepNode; via: StepNode }) : closing;
    const to = 'to' in next ? next.to : next.node;
    const via = next.via as StepNode;
    reasons.push(
      via === from.node
        ? `"${from.node.path}" requires "${to.path}"`
        : `"${via.path}" (in "${from.node.path}") requires "${to.path}"`,
    );
  }
  return new SequentError(
    'cycle',
    `Steps wait for each other in a cycle: ${names.join(' -> ')} (${reasons.join('; ')}). ` +
      'None of them could ever start; remove one of these requirements.',
    { steps: names },
  );
}

function outermostBelowCommon(node: StepNode, target: StepNode): StepNode {
  const mine = new Set<StepNode>();
  for (let at: StepNode | undefined = node; at !== undefined; at = at.parent) mine.add(at);
  let at = target;
  while (at.parent !== undefined && !mine.has(at.parent)) at = at.parent;
  return at;
}

export function requirementTargets(requires: readonly Req[], into: Set<StepNode> = new Set()): Set<StepNode> {
  for (const req of requires) {
    if (req.kind === 'status') into.add(req.target as StepNode);
    else requirementTargets(req.items, into);
  }
  return into;
}

function normalizeRequires(where: string, value: unknown, tree: FlowTree): Req[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) && !isStatusPair(value) ? value : [value];
  return list.map((item: unknown) => normalizeRequirement(item, `${where} requires`, tree));
}

function isStatusPair(value: readonly unknown[]): boolean {
  return value.length === 2 && value[0] instanceof SequentStep && typeof value[1] === 'string';
}

function checkName(name: unknown, parent: StepNode): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new SequentError(
      'definition',
      `A step name must be a non-empty string; got ${formatValue(name)} in ${describeParent(parent)}.`,
    );
  }
  if (/[#@]/.test(name)) {
    throw new SequentError(
      'definition',
      `Step name "${name}" contains "#" or "@", which sequent keeps for the events it compiles. Use letters, digits, "-", "." or "_".`,
    );
  }
}

function checkCanHoldChildren(parent: StepNode): void {
  const leafKeys = LEAF_KEYS.filter((key) => parent.options[key] !== undefined);
  if (leafKeys.length > 0) {
    throw new SequentError(
      'definition',
      `Step "${parent.path}" has ${leafKeys.join(', ')}, so it is a leaf and cannot hold steps: a step with children is a ` +
        `container that runs its children. Move the work into a child step, e.g. ${parent.name}.addStep('work', { func }).`,
      { steps: [parent.path] },
    );
  }
}

function checkOptions(where: string, options: RawStepOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SequentError('definition', `${where}: options must be an object; got ${formatValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) {
      const hint = key === 'triggers' ? ' Sequent steps wait with `requires` instead of triggers.' : '';
      throw new SequentError(
        'definition',
        `${where}: unknown option "${key}". Known options: ${[...KNOWN_KEYS].join(', ')}.${hint}`,
      );
    }
  }
  const leafKeys = LEAF_KEYS.filter((key) => options[key] !== undefined);
  if (options.repeats !== undefined && leafKeys.length > 0) {
    throw new SequentError(
      'definition',
      `${where}: repeats is for containers, but ${leafKeys.join(', ')} make it a leaf. ` +
        'Put the work in a child step of the repeating container.',
    );
  }
  const kinds = (['func', 'module', 'command'] as const).filter((key) => options[key] !== undefined);
  if (kinds.length > 1)
    throw new SequentError(
      'definition',
      `${where}: give one of func, module or command, not ${kinds.join(' and ')}.`,
    );
  if (options.func !== undefined && typeof options.func !== 'function') {
    throw new SequentError(
      'definition',
      `${where}: func must be a function; got ${formatValue(options.func)}.`,
    );
  }
  if (options.args !== undefined && !Array.isArray(options.args)) {
    throw new SequentError(
      'definition',
      `${where}: args must be an array; got ${formatValue(options.args)}.`,
    );
  }
  if (options.delay !== undefined) {
    try {
      parseDuration(options.delay, `${where} delay`);
    } catch (error) {
      if (error instanceof FlowError) throw error;
      throw new SequentError('definition', `${where}: bad delay ${formatValue(options.delay)}.`, {
        cause: error,
      });
    }
  }
  for (const key of ['acquires', 'releases'] as const) {
    const claims = options[key];
    if (claims === undefined) continue;
    if (!Array.isArray(claims)) {
      throw new SequentError(
        'definition',
        `${where}: ${key} must be a list of [pool, amount] pairs; got ${formatValue(claims)}.`,
      );
    }
    for (const claim of claims as unknown[]) {
      if (!Array.isArray(claim) || !(claim[0] instanceof ResourcePool)) {
        throw new SequentError(
          'definition',
          `${where}: each item of ${key} must be [ResourcePool, amount], e.g. [[pool, 1]]; got ${formatValue(claim)}.`,
        );
      }
      const [pool, amount = 1] = claim as [ResourcePool, number | undefined];
      if (key === 'acquires' && pool.limit >= 0 && amount > pool.limit) {
        throw new SequentError(
          'definition',
          `${where} acquires ${amount} of pool "${pool.name}", whose limit is ${pool.limit}: it could never start. ` +
            `Acquire at most ${pool.limit}, or raise the pool's limit.`,
        );
      }
    }
  }
}

function materialize(where: string, repeats: unknown): unknown[] {
  if (
    typeof repeats === 'string' ||
    repeats === null ||
    typeof (repeats as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw new SequentError(
      'definition',
      `${where}: repeats must be an iterable of iteration values (an array, a Set, a generator), e.g. [1, 2, 3]; ` +
        `got ${formatValue(repeats)}.`,
    );
  }
  return Array.from(repeats as Iterable<unknown>);
}

function describeParent(parent: StepNode): string {
  return parent.parent === undefined ? `flow "${parent.tree.flowName}"` : `container "${parent.path}"`;
}

function formatName(name: unknown): string {
  return typeof name === 'string' ? `"${name}"` : formatValue(name);
}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (value instanceof SequentStep) return `step "${value.path}"`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
