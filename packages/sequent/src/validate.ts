import {
  checkStepOptions,
  FlowDefinitionError,
  FlowError,
  formatValue as formatEventorValue,
  parseDuration,
  StepStatus,
} from '@flow/eventor';
import { SequentError } from './errors.js';
import { hasReservedChar, RESERVED_CHARS } from './names.js';
import {
  eventOf,
  nodeOf,
  type Req,
  SequentEvent,
  SequentStep,
  type SequentStepOptions,
  type StepNode,
  type StepTree,
} from './step.js';

/** `addStep` options as the checks take them: unchecked, since callers may not use TypeScript. */
type RawStepOptions = { [K in keyof SequentStepOptions]?: unknown };

const LEAF_KEYS = ['func', 'module', 'export', 'command', 'cwd', 'env', 'args', 'recovery'] as const;
const SHARED_KEYS = ['requires', 'delay', 'acquires', 'releases', 'config'] as const;
const KNOWN_KEYS = new Set<string>([...LEAF_KEYS, ...SHARED_KEYS, 'repeats']);
/** The options eventor checks as it would on the compiled step; `config` waits for run() (it is inherited). */
const EVENTOR_CHECKED = [...LEAF_KEYS, 'acquires', 'releases'] as const;

export function checkName(name: unknown, parent: StepNode): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new SequentError(
      'definition',
      `A step name must be a non-empty string; got ${formatValue(name)} in ${describeParent(parent)}.`,
    );
  }
  if (hasReservedChar(name)) {
    const chars = RESERVED_CHARS.map((char) => `"${char}"`).join(' or ');
    throw new SequentError(
      'definition',
      `Step name "${name}" contains ${chars}, which sequent keeps for the events it compiles. Use letters, digits, "-", "." or "_".`,
    );
  }
}

export function checkCanHoldChildren(parent: StepNode): void {
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

/**
 * Checks `addStep` options of the step at `path`: sequent's own (keys, repeats, delay) here, the
 * step options eventor takes by eventor's checks, reported as SequentError.
 */
export function checkOptions(path: string, options: RawStepOptions): void {
  const where = `Step "${path}"`;
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
  const forEventor: Record<string, unknown> = {};
  for (const key of EVENTOR_CHECKED) if (options[key] !== undefined) forEventor[key] = options[key];
  try {
    checkStepOptions(path, forEventor);
  } catch (error) {
    if (!(error instanceof FlowDefinitionError)) throw error;
    throw new SequentError('definition', error.message, { cause: error });
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
}

/** `repeats` as the list of its iteration values. */
export function materialize(where: string, repeats: unknown): unknown[] {
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

/** `requires` of `addStep` or `addRequires` (an item or a list of items), resolved. */
export function normalizeRequires(where: string, value: unknown, tree: StepTree): Req[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) && !isStatusPair(value) ? value : [value];
  return list.map((item: unknown) => normalizeRequirement(item, `${where} requires`, tree));
}

function isStatusPair(value: readonly unknown[]): boolean {
  return value.length === 2 && value[0] instanceof SequentStep && typeof value[1] === 'string';
}

const STATUSES = Object.values(StepStatus) as string[];

/** Resolves a user requirement into a `Req`, checking its shape and that its steps are of `tree`. */
export function normalizeRequirement(input: unknown, where: string, tree: StepTree, depth = 0): Req {
  if (depth > 64) throw new SequentError('requires', `${where}: requirements nest deeper than 64 levels.`);
  if (input instanceof SequentEvent) {
    const event = eventOf(input);
    if (event.tree !== tree) {
      throw new SequentError(
        'requires',
        `${where}: the event was made by another Sequent's addEvent(); make it with this flow's addEvent().`,
        { steps: stepsOf(event.req) },
      );
    }
    return event.req;
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

export function describeParent(parent: StepNode): string {
  return parent.parent === undefined ? `flow "${parent.tree.flowName}"` : `container "${parent.path}"`;
}

export function formatName(name: unknown): string {
  return typeof name === 'string' ? `"${name}"` : formatValue(name);
}

/** A value as sequent's messages show it: a step by its path, anything else as eventor shows it. */
export function formatValue(value: unknown): string {
  return value instanceof SequentStep ? `step "${value.path}"` : formatEventorValue(value);
}
