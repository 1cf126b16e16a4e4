import { FlowDefinitionError } from '../errors.js';
import type { EventRef } from './event.js';
import type { Expr } from './expr.js';

/** An `and`/`or` node of an event expression; expressions are data, never code. */
export interface ExprNode {
  readonly op: 'and' | 'or';
  readonly items: readonly ExprItem[];
}
/** An expression item: an event, a list (all of them), or an and/or node. */
export type ExprItem = EventRef | ExprNode | readonly ExprItem[];

/** All items must hold. */
export function and(...items: ExprItem[]): ExprNode {
  return { op: 'and', items };
}
/** Any item must hold; an item may itself be a list (an AND group). */
export function or(...items: ExprItem[]): ExprNode {
  return { op: 'or', items };
}

export type { Expr } from './expr.js';

export function isExprNode(value: unknown): value is ExprNode {
  return (
    typeof value === 'object' &&
    value !== null &&
    ((value as ExprNode).op === 'and' || (value as ExprNode).op === 'or') &&
    Array.isArray((value as ExprNode).items)
  );
}

/**
 * Turns user input into an Expr, checking every leaf with `resolveEvent` (which throws for events
 * of another eventor). `where` names the event being defined, for messages.
 */
export function normalizeExpr(
  input: unknown,
  where: string,
  resolveEvent: (value: unknown, where: string) => string,
  depth = 0,
): Expr {
  if (depth > 64) throw new FlowDefinitionError(`${where}: expression nests deeper than 64 levels.`);
  if (Array.isArray(input) || isExprNode(input)) {
    const op = Array.isArray(input) ? 'and' : input.op;
    const items = Array.isArray(input) ? input : input.items;
    if (items.length === 0) {
      throw new FlowDefinitionError(
        `${where}: an empty ${op === 'and' ? 'list/and()' : 'or()'} in the expression; give it at least one event.`,
      );
    }
    const normalized = items.map((item: unknown) => normalizeExpr(item, where, resolveEvent, depth + 1));
    return normalized.length === 1 ? (normalized[0] as Expr) : { op, items: normalized };
  }
  return { op: 'event', name: resolveEvent(input, where) };
}

/** Evaluates an expression given which events have fired; an event not fired is false. */
export function evaluateExpr(expr: Expr, fired: (event: string) => boolean): boolean {
  switch (expr.op) {
    case 'event':
      return fired(expr.name);
    case 'and':
      return expr.items.every((item) => evaluateExpr(item, fired));
    case 'or':
      return expr.items.some((item) => evaluateExpr(item, fired));
  }
}

/** The event names an expression reads (its leaves), added to `into`. */
export function exprEvents(expr: Expr, into: Set<string> = new Set()): Set<string> {
  if (expr.op === 'event') into.add(expr.name);
  else for (const item of expr.items) exprEvents(item, into);
  return into;
}

export function exprEquals(a: Expr | undefined, b: Expr | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
