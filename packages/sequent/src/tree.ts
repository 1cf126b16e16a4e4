import { SequentError } from './errors.js';
import { stepPath } from './names.js';
import {
  isContainer,
  type Req,
  type Requirement,
  SequentStep,
  type SequentStepOptions,
  type StepNode,
  type StepTree,
} from './step.js';
import {
  checkCanHoldChildren,
  checkName,
  checkOptions,
  describeParent,
  formatName,
  materialize,
  normalizeRequires,
} from './validate.js';

/** @internal The step tree of one Sequent: adds and checks steps and requirements. */
export class FlowTree implements StepTree {
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
    const path = stepPath(parent.path, name);
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
    checkOptions(path, options);
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
