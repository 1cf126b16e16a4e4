/** A normalised expression: leaves are event names. */
export type Expr = { op: 'and' | 'or'; items: Expr[] } | { op: 'event'; name: string };
