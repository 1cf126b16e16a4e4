export function make(kind: string): unknown;
