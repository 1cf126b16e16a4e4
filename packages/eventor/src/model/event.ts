import type { Expr } from './expression.js';

const OWNER = Symbol('flow.owner');

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

/** A step handle returned by `addStep`. */
export class StepRef {
  readonly kind = 'step' as const;
  /** @internal */ readonly [OWNER]: object;
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
