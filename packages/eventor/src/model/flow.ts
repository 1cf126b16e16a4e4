import { formatValue } from '../describe.js';
import { FlowDefinitionError } from '../errors.js';
import { type AssocTarget, assocKeyOf } from './assoc.js';
import { stepDefinition } from './definition-changes.js';
import { type Expr, exprEquals, exprEvents } from './expression.js';
import type { FlowShape } from './shape.js';
import type { StepDef } from './step.js';
import type { TreeDescription } from './tree.js';

export type { AssocTarget } from './assoc.js';

/** event -> targets, optionally delayed; `key` identifies a delayed assoc in the store across runs. */
export interface AssocDef {
  key: string;
  event: string;
  targets: AssocTarget[];
  delayMs: number;
}

export interface EventDef {
  name: string;
  expr: Expr | undefined;
}

/** 2: steps keep their whole definition (func, module, command, args, recovery, releases, config). */
export const SHAPE_VERSION = 2;

export type { FlowShape } from './shape.js';

/** The definitions of one eventor: events, steps, assocs, and the indexes the run loop reads. */
export class FlowDefinition {
  readonly events = new Map<string, EventDef>();
  readonly steps = new Map<string, StepDef>();
  readonly assocs: AssocDef[] = [];
  private readonly assocsByEvent = new Map<string, AssocDef[]>();
  private readonly dependentsByEvent = new Map<string, EventDef[]>();
  private readonly assocKeys = new Map<string, AssocDef>();
  private shapeJson: string | undefined;
  private treeDescription: TreeDescription | undefined;

  addEvent(name: string, expr: Expr | undefined): { def: EventDef; created: boolean } {
    const existing = this.events.get(name);
    if (existing) {
      if (!exprEquals(existing.expr, expr)) {
        throw new FlowDefinitionError(
          `Event "${name}" is already defined with a different expression. Give the new event another name, ` +
            'or define it once with the expression it needs.',
        );
      }
      return { def: existing, created: false };
    }
    if (expr) {
      const referenced = exprEvents(expr);
      if (referenced.has(name)) {
        throw new FlowDefinitionError(`Event "${name}": its expression refers to the event itself.`);
      }
    }
    const def: EventDef = { name, expr };
    this.events.set(name, def);
    this.shapeJson = undefined;
    if (expr) {
      for (const source of exprEvents(expr)) {
        const list = this.dependentsByEvent.get(source) ?? [];
        list.push(def);
        this.dependentsByEvent.set(source, list);
      }
    }
    return { def, created: true };
  }

  addStep(def: StepDef): void {
    if (this.steps.has(def.name)) {
      throw new FlowDefinitionError(
        `Step "${def.name}" is already defined. Step names are unique in an eventor; choose another name.`,
      );
    }
    this.steps.set(def.name, def);
    this.shapeJson = undefined;
  }

  addAssoc(event: string, targets: AssocTarget[], delayMs: number): void {
    // the key leaves the delay out: a pending delay stays tied to its assoc when the program changes
    // the duration (it keeps its original due time)
    const key = assocKeyOf(event, targets);
    const existing = this.assocKeys.get(key);
    if (existing !== undefined) {
      if (existing.delayMs === delayMs) return;
      throw new FlowDefinitionError(
        `Assoc of event "${event}" to ${targets.map((t) => `${t.kind} "${t.name}"`).join(', ')} is already defined ` +
          `with a delay of ${existing.delayMs} ms; define it once, with the delay it needs (${delayMs} ms given now).`,
      );
    }
    const def: AssocDef = { key, event, targets, delayMs };
    this.assocKeys.set(key, def);
    this.assocs.push(def);
    this.shapeJson = undefined;
    const list = this.assocsByEvent.get(event) ?? [];
    list.push(def);
    this.assocsByEvent.set(event, list);
  }

  /** The tree the steps and events were compiled from (checked by the caller); kept in the shape. */
  setTree(tree: TreeDescription): void {
    this.treeDescription = tree;
    this.shapeJson = undefined;
  }

  assocsOf(event: string): readonly AssocDef[] {
    return this.assocsByEvent.get(event) ?? EMPTY;
  }

  dependentsOf(event: string): readonly EventDef[] {
    return this.dependentsByEvent.get(event) ?? EMPTY;
  }

  assocByKey(key: string): AssocDef | undefined {
    return this.assocKeys.get(key);
  }

  /** The step an assoc of `event` targets; its message is built only when the step is missing. */
  requireStep(name: string, event: string): StepDef {
    const step = this.steps.get(name);
    if (!step) throw new FlowDefinitionError(`Assoc of event "${event}": unknown step ${formatValue(name)}.`);
    return step;
  }

  /** The shape as JSON, computed once per change of the definitions. */
  shapeAsJson(): string {
    this.shapeJson ??= JSON.stringify(this.shape());
    return this.shapeJson;
  }

  shape(): FlowShape {
    return {
      version: SHAPE_VERSION,
      events: [...this.events.values()].map((e) =>
        e.expr ? { name: e.name, expr: e.expr } : { name: e.name },
      ),
      steps: [...this.steps.values()].map((s) => {
        const step: FlowShape['steps'][number] = { name: s.name, kind: s.kind };
        const triggers = Object.entries(s.triggers).filter(([, events]) => events.length > 0);
        if (triggers.length > 0) step.triggers = Object.fromEntries(triggers);
        if (s.acquires.length > 0)
          step.acquires = s.acquires.map(([pool, amount]) => ({ pool: pool.name, amount }));
        if (s.config.maxConcurrent > 0) step.maxConcurrent = s.config.maxConcurrent;
        return Object.assign(step, stepDefinition(s));
      }),
      assocs: this.assocs.map((a) =>
        a.delayMs > 0
          ? { event: a.event, targets: a.targets, delayMs: a.delayMs }
          : { event: a.event, targets: a.targets },
      ),
      ...(this.treeDescription === undefined ? {} : { tree: this.treeDescription }),
    };
  }
}

/** How the store names an assoc (its pending delays refer to it); the delay is not part of it. */
export { assocKeyOf } from './assoc.js';

const EMPTY: readonly never[] = Object.freeze([]);
