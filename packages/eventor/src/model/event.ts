import type { Expr } from './expr.js';

const OWNER = Symbol('flow.owner');
/** Type-only: carries a step's result type; never set at run time. */
declare const RESULT: unique symbol;

/** An event handle returned by `addEvent`. */
export class EventRef {
  readonly kind = 'event' as const;
  /** @internal */ readonly [OWNER]: object;
  constructor(
    readonly name: string,
    readonly expr: Expr | undefined,
    owner: object,
  ) {
    this[OWNER] = owner;
  }
}

/** A step handle returned by `addStep`; `R` is the type of its result (what its func resolves to). */
export class StepRef<R = unknown> {
  readonly kind = 'step' as const;
  /** @internal */ readonly [OWNER]: object;
  declare readonly [RESULT]: R;
  constructor(
    readonly name: string,
    owner: object,
  ) {
    this[OWNER] = owner;
  }
}

export function ownerOf(ref: EventRef | StepRef): object {
  return ref[OWNER];
}
