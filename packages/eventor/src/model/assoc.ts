/** What an assoc starts when its event fires: a step, or another event. */
export interface AssocTarget {
  kind: 'step' | 'event';
  name: string;
}

/** Identifies an assoc (a delayed one in the store, across runs) by its event and targets. */
export function assocKeyOf(event: string, targets: readonly AssocTarget[]): string {
  // JSON, so no name can make two different assocs read the same
  return JSON.stringify([event, ...targets.map((t) => `${t.kind}:${t.name}`)]);
}
