/**
 * A flow's tree as its author wrote it: what a library that compiles a tree onto eventor (sequent
 * does) hands to `Eventor.describeTree`, so that the tools draw and explain the run in the author's
 * terms. Plain JSON, kept with the run's shape; eventor reads every compiled name it needs from it
 * and never parses names or sequences.
 */
import { formatValue } from '../describe.js';
import { FlowDefinitionError } from '../errors.js';
import { STEP_STATUSES, type StepStatus } from './status.js';

/**
 * The whole tree. Nodes run in sequences: the top-level ones in `sequence`; the children of a
 * container running in sequence S run in its iterations' sequences, iteration k (from 1) in
 * `S + iterationSeparator + k`.
 * @example
 * { sequence: '1', iterationSeparator: '.', nodes: [{ kind: 'leaf', name: 'report', path: 'report', step: 'report' }] }
 */
export interface TreeDescription {
  sequence: string;
  iterationSeparator: string;
  /** The top-level nodes, in the order they were written. */
  nodes: TreeNode[];
}

export type TreeNode = TreeLeaf | TreeContainer;

interface TreeNodeBase {
  /** The name as written, e.g. `extract`. */
  name: string;
  /** Unique in the tree: what `eventor show`, `why` and `--step` call the node, e.g. `batch_extract`. */
  path: string;
  /** Must hold, in the sequence the node runs in, before it starts. */
  requires?: TreeRequirement;
  /** How long the node waits after `requires` hold before it starts (ms). */
  delayMs?: number;
}

/** A node that does work: one eventor step. */
export interface TreeLeaf extends TreeNodeBase {
  kind: 'leaf';
  /** The eventor step doing the work: its tasks are the leaf's. */
  step: string;
}

/** A node whose children run once per iteration. */
export interface TreeContainer extends TreeNodeBase {
  kind: 'container';
  children: TreeNode[];
  /** Iterations per run of the container; absent: it runs its children once, as a group. */
  repeats?: number;
  /** Eventor steps whose tasks, in the container's sequence, say how a run of it went. */
  steps: {
    /** Has a task once the container starts. */
    begin: string;
    /** Succeeds when the container ended well. */
    success: string;
    /** Succeeds when the container failed; absent when nothing waits for its failure. */
    failure?: string;
  };
  /** Eventor events fired in an iteration's sequence. */
  iteration: {
    start: string;
    success: string;
    /** Absent when nothing waits for the container's failure (a failure inside is then the run's). */
    failure?: string;
  };
  /** Every eventor step that serves the container rather than a leaf's work: hidden from the tree. */
  bookkeeping: string[];
}

/** `node` (a path) reached `status` (`complete`: success or failure); or all / any of `items`. */
export type TreeRequirement =
  | { node: string; status: StepStatus }
  | { op: 'and' | 'or'; items: TreeRequirement[] };

/** Names the flow defines, to check that a description names only those. */
export interface DefinedNames {
  hasStep(name: string): boolean;
  hasEvent(name: string): boolean;
}

/**
 * Checks `value` as a TreeDescription and returns a plain copy of it. With `defined`, every
 * compiled name must be a step or event of the flow. Throws FlowDefinitionError naming the node.
 */
export function checkTree(value: unknown, defined?: DefinedNames): TreeDescription {
  return new TreeChecker(defined).description(value);
}

const WHERE = 'describeTree';

class TreeChecker {
  private readonly paths = new Set<string>();
  private readonly requirements: Array<{ path: string; requires: TreeRequirement }> = [];

  constructor(private readonly defined: DefinedNames | undefined) {}

  description(value: unknown): TreeDescription {
    const tree = record(value, 'the tree', ['sequence', 'iterationSeparator', 'nodes']);
    const out: TreeDescription = {
      sequence: text(tree.sequence, 'the tree: "sequence"'),
      iterationSeparator: text(tree.iterationSeparator, 'the tree: "iterationSeparator"'),
      nodes: this.nodes(tree.nodes, 'the tree: "nodes"'),
    };
    for (const { path, requires } of this.requirements) this.checkTargets(path, requires);
    return out;
  }

  private nodes(value: unknown, where: string): TreeNode[] {
    if (!Array.isArray(value)) throw bad(`${where} must be an array of nodes; got ${formatValue(value)}`);
    return value.map((node) => this.node(node));
  }

  private node(value: unknown): TreeNode {
    const kind = (value as { kind?: unknown } | null)?.kind;
    const leafKeys = ['kind', 'name', 'path', 'requires', 'delayMs', 'step'];
    const containerKeys = [
      'kind',
      'name',
      'path',
      'requires',
      'delayMs',
      'children',
      'repeats',
      'steps',
      'iteration',
      'bookkeeping',
    ];
    if (kind !== 'leaf' && kind !== 'container') {
      throw bad(`a node's "kind" must be 'leaf' or 'container'; got ${formatValue(value)}`);
    }
    const node = record(value, 'a node', kind === 'leaf' ? leafKeys : containerKeys);
    const path = text(node.path, 'a node: "path"');
    const where = `node "${path}"`;
    if (this.paths.has(path)) throw bad(`${where} is described twice; paths are unique in a tree`);
    this.paths.add(path);
    const base: TreeNodeBase = { name: text(node.name, `${where}: "name"`), path };
    if (node.requires !== undefined) {
      base.requires = requirement(node.requires, `${where}: "requires"`);
      this.requirements.push({ path, requires: base.requires });
    }
    if (node.delayMs !== undefined) base.delayMs = count(node.delayMs, `${where}: "delayMs"`);
    if (kind === 'leaf') return { kind, ...base, step: this.step(node.step, `${where}: "step"`) };
    const steps = record(node.steps, `${where}: "steps"`, ['begin', 'success', 'failure']);
    const iteration = record(node.iteration, `${where}: "iteration"`, ['start', 'success', 'failure']);
    const container: TreeContainer = {
      kind,
      ...base,
      children: this.nodes(node.children, `${where}: "children"`),
      steps: {
        begin: this.step(steps.begin, `${where}: "steps.begin"`),
        success: this.step(steps.success, `${where}: "steps.success"`),
      },
      iteration: {
        start: this.event(iteration.start, `${where}: "iteration.start"`),
        success: this.event(iteration.success, `${where}: "iteration.success"`),
      },
      bookkeeping: [],
    };
    if (steps.failure !== undefined)
      container.steps.failure = this.step(steps.failure, `${where}: "steps.failure"`);
    if (iteration.failure !== undefined)
      container.iteration.failure = this.event(iteration.failure, `${where}: "iteration.failure"`);
    if (node.repeats !== undefined) container.repeats = count(node.repeats, `${where}: "repeats"`);
    if (!Array.isArray(node.bookkeeping))
      throw bad(
        `${where}: "bookkeeping" must be an array of step names; got ${formatValue(node.bookkeeping)}`,
      );
    container.bookkeeping = node.bookkeeping.map((name) => this.step(name, `${where}: "bookkeeping"`));
    return container;
  }

  private step(value: unknown, where: string): string {
    const name = text(value, where);
    if (this.defined && !this.defined.hasStep(name)) {
      throw bad(
        `${where} names step "${name}", which the flow does not define; describe the tree after adding its steps`,
      );
    }
    return name;
  }

  private event(value: unknown, where: string): string {
    const name = text(value, where);
    if (this.defined && !this.defined.hasEvent(name)) {
      throw bad(
        `${where} names event "${name}", which the flow does not define; describe the tree after adding its events`,
      );
    }
    return name;
  }

  private checkTargets(path: string, requires: TreeRequirement): void {
    if ('node' in requires) {
      if (!this.paths.has(requires.node))
        throw bad(`node "${path}": "requires" names node "${requires.node}", which the tree does not have`);
      if (requires.node === path) throw bad(`node "${path}": "requires" names the node itself`);
      return;
    }
    for (const item of requires.items) this.checkTargets(path, item);
  }
}

function requirement(value: unknown, where: string): TreeRequirement {
  if (typeof value === 'object' && value !== null && 'op' in value) {
    const group = record(value, where, ['op', 'items']);
    if (group.op !== 'and' && group.op !== 'or')
      throw bad(`${where}: "op" must be 'and' or 'or'; got ${formatValue(group.op)}`);
    if (!Array.isArray(group.items) || group.items.length === 0)
      throw bad(`${where}: "items" must be a non-empty array; got ${formatValue(group.items)}`);
    return { op: group.op, items: group.items.map((item) => requirement(item, where)) };
  }
  const item = record(value, where, ['node', 'status']);
  if (!STEP_STATUSES.includes(item.status as StepStatus)) {
    throw bad(
      `${where}: "status" must be one of ${STEP_STATUSES.join(', ')}; got ${formatValue(item.status)}`,
    );
  }
  return { node: text(item.node, `${where}: "node"`), status: item.status as StepStatus };
}

function record(value: unknown, where: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(`${where} must be an object; got ${formatValue(value)}`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw bad(`${where} has an unknown field "${key}" (known: ${keys.join(', ')})`);
  }
  return value as Record<string, unknown>;
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw bad(`${where} must be a non-empty string; got ${formatValue(value)}`);
  return value;
}

function count(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw bad(`${where} must be a whole number >= 0; got ${formatValue(value)}`);
  return value;
}

function bad(message: string): FlowDefinitionError {
  return new FlowDefinitionError(`${WHERE}: ${message}.`);
}

/** Every node of the tree, parents before their children, in the order written. */
export function treeNodes(tree: TreeDescription): TreeNode[] {
  const out: TreeNode[] = [];
  const visit = (nodes: readonly TreeNode[]): void => {
    for (const node of nodes) {
      out.push(node);
      if (node.kind === 'container') visit(node.children);
    }
  };
  visit(tree.nodes);
  return out;
}
