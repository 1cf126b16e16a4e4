import { createHash } from 'node:crypto';
import { type AssocTarget, assocKeyOf } from './assoc.js';
import { exprEquals } from './expression.js';
import type { FlowShape } from './shape.js';
import type { StepDef } from './step.js';

/** One step, event or assoc added, removed or changed since the run's stored shape. */
export interface DefinitionChange {
  what: 'step' | 'event' | 'assoc';
  change: 'added' | 'removed' | 'changed';
  /** The step's or event's name; for an assoc, its event and targets (`go -> s1, event e2`). */
  name: string;
  /** What changed: a step's parts (`args`, `triggers`, ...), an event's `expression`, an assoc's delay or targets. */
  aspects?: string[];
}

/** The changes found when a run() took the run up with a changed definition. */
export interface DefinitionChangeRecord {
  recovery: number;
  /** ms since epoch */
  at: number;
  changes: DefinitionChange[];
}

/** What the store keeps in a run's `shape`: the flow's latest shape and how it came to be. */
export interface StoredShape extends FlowShape {
  changes?: DefinitionChangeRecord[];
}

type ShapeStep = FlowShape['steps'][number];

/** The parts of a step's definition the shape keeps besides kind, triggers, acquires and cap (version 2). */
export function stepDefinition(s: StepDef): Partial<ShapeStep> {
  const def: Partial<ShapeStep> = {};
  const func = s.kind === 'function' ? functionName(s.func) : '';
  if (func !== '') def.func = func;
  if (s.module !== undefined) def.module = s.module;
  if (s.kind === 'module' && s.exportName !== 'default') def.export = s.exportName;
  if (s.command !== undefined) def.command = typeof s.command === 'string' ? s.command : [...s.command];
  if (s.cwd !== undefined) def.cwd = s.cwd;
  if (s.env !== undefined) def.env = fingerprint(s.env);
  if (s.args.length > 0) def.args = fingerprint(s.args);
  const recovery = Object.entries(s.recovery).filter(
    ([status, replay]) => replay !== DEFAULT_RECOVERY[status],
  );
  if (recovery.length > 0) def.recovery = Object.fromEntries(recovery);
  if (s.releasesGiven) def.releases = s.releases.map(([pool, amount]) => ({ pool: pool.name, amount }));
  const { stopOnException, taskConstruct, timeoutMs, retries, backoffMs } = s.config;
  const config: NonNullable<ShapeStep['config']> = {};
  if (stopOnException !== undefined) config.stopOnException = stopOnException;
  if (taskConstruct !== undefined) config.taskConstruct = taskConstruct;
  if (timeoutMs !== undefined) config.timeoutMs = timeoutMs;
  if (retries > 0) config.retries = retries;
  if (backoffMs > 0) config.backoffMs = backoffMs;
  if (Object.keys(config).length > 0) def.config = config;
  return def;
}

/** A function's name; '' when it has none (or a hostile `name` getter throws). */
function functionName(fn: unknown): string {
  try {
    const name = (fn as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' ? name : '';
  } catch {
    return '';
  }
}

const DEFAULT_RECOVERY: Record<string, string> = {
  ready: 'rerun',
  active: 'rerun',
  success: 'skip',
  failure: 'rerun',
};

/** Parts of a step compared between shapes; the first four are in every stored shape. */
const STEP_ASPECTS: Array<[string, (step: ShapeStep) => unknown, boolean]> = [
  ['kind', (s) => s.kind, true],
  ['func', (s) => s.func, false],
  ['module', (s) => [s.module, s.export], false],
  ['command', (s) => s.command, false],
  ['cwd/env', (s) => [s.cwd, s.env], false],
  ['args', (s) => s.args, false],
  ['triggers', (s) => s.triggers, true],
  ['recovery', (s) => s.recovery, false],
  ['acquires', (s) => s.acquires, true],
  ['releases', (s) => s.releases, false],
  ['config', (s) => [s.maxConcurrent, s.config], true],
];

/**
 * Every step, event and assoc added, removed or changed from `before` (a stored shape) to `after`.
 * A shape stored before version 2 keeps no func, module, command, args, recovery, releases or
 * config but the cap: those are not compared then.
 */
export function diffShapes(before: FlowShape, after: FlowShape): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  const full = (before.version ?? 1) >= 2;
  const aspects = STEP_ASPECTS.filter(([, , always]) => full || always);

  const oldSteps = new Map(before.steps.map((s) => [s.name, s]));
  const newSteps = new Set<string>();
  for (const step of after.steps) {
    newSteps.add(step.name);
    const old = oldSteps.get(step.name);
    if (!old) {
      changes.push({ what: 'step', change: 'added', name: step.name });
      continue;
    }
    const changed = aspects.filter(([, part]) => !same(part(old), part(step))).map(([name]) => name);
    if (changed.length > 0)
      changes.push({ what: 'step', change: 'changed', name: step.name, aspects: changed });
  }
  for (const step of before.steps)
    if (!newSteps.has(step.name)) changes.push({ what: 'step', change: 'removed', name: step.name });

  const oldEvents = new Map(before.events.map((e) => [e.name, e]));
  const newEvents = new Set<string>();
  for (const event of after.events) {
    newEvents.add(event.name);
    const old = oldEvents.get(event.name);
    if (!old) changes.push({ what: 'event', change: 'added', name: event.name });
    else if (!exprEquals(old.expr, event.expr))
      changes.push({ what: 'event', change: 'changed', name: event.name, aspects: ['expression'] });
  }
  for (const event of before.events)
    if (!newEvents.has(event.name)) changes.push({ what: 'event', change: 'removed', name: event.name });

  for (const change of diffAssocs(before.assocs, after.assocs)) changes.push(change);
  return changes;
}

type ShapeAssoc = FlowShape['assocs'][number];

function diffAssocs(before: readonly ShapeAssoc[], after: readonly ShapeAssoc[]): DefinitionChange[] {
  const changes: DefinitionChange[] = [];
  const keyOf = (a: ShapeAssoc) => assocKeyOf(a.event, a.targets);
  const oldByKey = new Map(before.map((a) => [keyOf(a), a]));
  const newKeys = new Set(after.map(keyOf));
  const added: ShapeAssoc[] = [];
  for (const assoc of after) {
    const old = oldByKey.get(keyOf(assoc));
    if (!old) added.push(assoc);
    else if ((old.delayMs ?? 0) !== (assoc.delayMs ?? 0)) {
      changes.push({
        what: 'assoc',
        change: 'changed',
        name: assocName(assoc),
        aspects: [`delay ${old.delayMs ?? 0} ms -> ${assoc.delayMs ?? 0} ms`],
      });
    }
  }
  const removed = before.filter((a) => !newKeys.has(keyOf(a)));
  // an event whose one assoc now has other targets: that assoc changed, rather than one removed and one added
  const count = (list: ShapeAssoc[], event: string) => list.filter((a) => a.event === event).length;
  for (const assoc of added) {
    const old = removed.find((a) => a.event === assoc.event);
    if (old && count(added, assoc.event) === 1 && count(removed, assoc.event) === 1) {
      const aspects = [`targets were ${targetNames(old.targets)}`];
      if ((old.delayMs ?? 0) !== (assoc.delayMs ?? 0))
        aspects.push(`delay ${old.delayMs ?? 0} ms -> ${assoc.delayMs ?? 0} ms`);
      changes.push({ what: 'assoc', change: 'changed', name: assocName(assoc), aspects });
      removed.splice(removed.indexOf(old), 1);
    } else {
      changes.push({ what: 'assoc', change: 'added', name: assocName(assoc) });
    }
  }
  for (const assoc of removed) changes.push({ what: 'assoc', change: 'removed', name: assocName(assoc) });
  return changes;
}

function assocName(assoc: ShapeAssoc): string {
  return `${assoc.event} -> ${targetNames(assoc.targets)}`;
}

function targetNames(targets: readonly AssocTarget[]): string {
  return targets.map((t) => (t.kind === 'event' ? `event ${t.name}` : t.name)).join(', ');
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** `changed step "s2" (args, triggers)` */
export function describeChange(change: DefinitionChange): string {
  const aspects = change.aspects && change.aspects.length > 0 ? ` (${change.aspects.join(', ')})` : '';
  return `${change.change} ${change.what} "${change.name}"${aspects}`;
}

/** A run's stored shape JSON read back; undefined when there is none or it cannot be read. */
export function readStoredShape(json: string | null): StoredShape | undefined {
  if (json === null) return undefined;
  try {
    const shape = JSON.parse(json) as Partial<StoredShape> | null;
    if (typeof shape !== 'object' || shape === null) return undefined;
    return {
      ...(shape.version !== undefined ? { version: shape.version } : {}),
      events: Array.isArray(shape.events) ? shape.events : [],
      steps: Array.isArray(shape.steps) ? shape.steps : [],
      assocs: Array.isArray(shape.assocs) ? shape.assocs : [],
      ...(Array.isArray(shape.changes) ? { changes: shape.changes } : {}),
      ...(shape.tree !== undefined ? { tree: shape.tree } : {}),
    };
  } catch {
    return undefined;
  }
}

/** Stops fingerprinting values too large to be worth it; their changes then go unnoticed. */
const FINGERPRINT_BUDGET = 1_000_000;

/**
 * A short digest of a value (args, env) that tells two definitions apart without storing the value:
 * args may be large, cyclic or hold what JSON cannot. Functions count by name.
 */
export function fingerprint(value: unknown): string {
  const parts: string[] = [];
  try {
    encode(value, parts, new Map(), { left: FINGERPRINT_BUDGET });
  } catch {
    return 'unreadable';
  }
  return createHash('sha1').update(parts.join('')).digest('base64url').slice(0, 16);
}

function encode(value: unknown, out: string[], seen: Map<object, number>, budget: { left: number }): void {
  if (--budget.left < 0) throw new RangeError('too large to fingerprint');
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'number':
      out.push(Object.is(value, -0) ? '-0' : String(value));
      return;
    case 'bigint':
      out.push(`${value}n`);
      return;
    case 'boolean':
    case 'undefined':
      out.push(String(value));
      return;
    case 'symbol':
      out.push(`Symbol(${JSON.stringify(value.description ?? '')})`);
      return;
    case 'function':
      out.push(`function ${JSON.stringify(functionName(value))}`);
      return;
  }
  if (value === null) {
    out.push('null');
    return;
  }
  const object = value as object;
  const ref = seen.get(object);
  if (ref !== undefined) {
    out.push(`@${ref}`);
    return;
  }
  seen.set(object, seen.size);
  if (Array.isArray(object)) {
    out.push('[');
    for (let i = 0; i < object.length; i++) {
      encode(object[i], out, seen, budget);
      out.push(',');
    }
    out.push(']');
  } else if (object instanceof Date) out.push(`Date(${object.getTime()})`);
  else if (object instanceof RegExp || object instanceof URL)
    out.push(`${object.constructor.name}(${String(object)})`);
  else if (object instanceof Map || object instanceof Set) {
    out.push(`${object.constructor.name}{`);
    for (const entry of object instanceof Map ? object.entries() : object.values()) {
      encode(entry, out, seen, budget);
      out.push(',');
    }
    out.push('}');
  } else if (ArrayBuffer.isView(object)) {
    const bytes = Buffer.from(object.buffer, object.byteOffset, object.byteLength);
    out.push(`${object.constructor.name}(${bytes.toString('base64')})`);
  } else if (object instanceof ArrayBuffer)
    out.push(`ArrayBuffer(${Buffer.from(object).toString('base64')})`);
  else {
    const name = (Object.getPrototypeOf(object) as { constructor?: { name?: unknown } } | null)?.constructor
      ?.name;
    out.push(`${typeof name === 'string' ? name : 'Object'}{`);
    for (const key of Object.keys(object).sort()) {
      out.push(JSON.stringify(key), ':');
      encode((object as Record<string, unknown>)[key], out, seen, budget);
      out.push(',');
    }
    out.push('}');
  }
}
