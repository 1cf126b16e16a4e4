import { StepStatus } from '@flow/eventor';
import { SequentError } from './errors.js';
import { type FlowTree, formatValue, nodeOf, SequentStep, type StepNode } from './step.js';

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
  readonly [TREE]: FlowTree;

  /** @internal Made by `Sequent.addEvent`. */
  constructor(req: Req, tree: FlowTree) {
    this[REQ] = req;
    this[TREE] = tree;
  }
}

const STATUSES = Object.values(StepStatus) as string[];

/** Resolves a user requirement into a `Req`, checking its shape and that its steps are of `tree`. */
export function normalizeRequirement(input: unknown, where: string, tree: FlowTree, depth = 0): Req {
  if (depth > 64) throw new SequentError('requires', `${where}: requirements nest deeper than 64 levels.`);
  if (input instanceof SequentEvent) {
    if (input[TREE] !== tree) {
      throw new SequentError(
        'requires',
        `${where}: the event was made by another Sequent's addEvent(); make it with this flow's addEvent().`,
        { steps: stepsOf(input[REQ]) },
      );
    }
    return input[REQ];
  }
  if (
    Array.isArray(input) &&
    input.length === 2 &&
    input[0] instanceof SequentStep &&
    typeof input[1] === 'string'
  ) {
    const [step, status] = input as [SequentStep, string];
    const target = nodeOf(step);
    if (target.tree !== tree) {
      throw new SequentError(
        'requires',
        `${where}: step "${step.path}" belongs to another Sequent (flow "${target.tree.flowName}"); ` +
          `a step can only require steps of its own flow.`,
        { steps: [step.path] },
      );
    }
    if (!STATUSES.includes(status)) {
      throw new SequentError(
        'requires',
        `${where}: [${step.path}, ${JSON.stringify(status)}] has an unknown status; use one of ${STATUSES.join(', ')}, ` +
          `e.g. [${step.name}, StepStatus.success].`,
        { steps: [step.path] },
      );
    }
    return { kind: 'status', target, status: status as StepStatus };
  }
  if (input instanceof SequentStep) {
    throw new SequentError(
      'requires',
      `${where}: step "${input.path}" is given without a status; write [${input.name}, StepStatus.success] ` +
        '(or failure, complete, ready, active).',
      { steps: [input.path] },
    );
  }
  const group = asGroup(input);
  if (group) {
    if (group.items.length === 0) {
      throw new SequentError(
        'requires',
        `${where}: an empty ${group.op === 'and' ? 'list/and()' : 'or()'}; give it at least one requirement.`,
      );
    }
    const items = group.items.map((item) => normalizeRequirement(item, where, tree, depth + 1));
    return items.length === 1 ? (items[0] as Req) : { kind: group.op, items };
  }
  throw new SequentError(
    'requires',
    `${where}: expected [step, status], an event from addEvent(), and()/or() or a list of those; got ${formatValue(input)}.`,
  );
}

function asGroup(input: unknown): { op: 'and' | 'or'; items: readonly unknown[] } | undefined {
  if (Array.isArray(input)) return { op: 'and', items: input };
  if (typeof input === 'object' && input !== null) {
    const { op, items } = input as { op?: unknown; items?: unknown };
    if ((op === 'and' || op === 'or') && Array.isArray(items)) return { op, items };
  }
  return undefined;
}

function stepsOf(req: Req): string[] {
  if (req.kind === 'status') return [req.target.path];
  return req.items.flatMap(stepsOf);
}
