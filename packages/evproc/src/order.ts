import { type MissingRequirement, RequirementsError } from './errors.js';
import type { HandlerRecord, Plan, PlanEntry, Predicate } from './types.js';

/** The `want` sets of a handler that can match this name; `null` when the handler cannot run for it. */
function applicableConditions(record: HandlerRecord, eventName: string): PlanEntry['conditions'] | undefined {
  if (record.wants.length === 0) return null;
  const conditions: (readonly Predicate[])[] = [];
  for (const set of record.wants) {
    if (set.names.length > 0 && !set.names.includes(eventName)) continue;
    // A set with no predicates always matches: no per-event work for this handler.
    if (set.predicates.length === 0) return null;
    conditions.push(set.predicates);
  }
  return conditions.length === 0 ? undefined : conditions;
}

function quote(names: readonly string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

/**
 * Sorts `count` nodes given as successor sets, keeping registration order for ties: at each step the
 * earliest-registered handler whose requirements have all run goes next (Kahn's algorithm).
 * Returns the order, or the nodes left over when there is a cycle.
 */
function stableTopologicalSort(
  count: number,
  successors: readonly Set<number>[],
): { order: number[]; leftover: number[] } {
  const indegree = new Array<number>(count).fill(0);
  for (const next of successors) for (const n of next) indegree[n] = (indegree[n] ?? 0) + 1;
  const ready: number[] = [];
  for (let i = 0; i < count; i++) if (indegree[i] === 0) ready.push(i);
  const order: number[] = [];
  while (ready.length > 0) {
    const node = ready.shift()!;
    order.push(node);
    for (const n of successors[node]!) {
      indegree[n] = indegree[n]! - 1;
      if (indegree[n] === 0) {
        // Keep `ready` sorted by registration position.
        let at = ready.length;
        while (at > 0 && ready[at - 1]! > n) at--;
        ready.splice(at, 0, n);
      }
    }
  }
  const leftover: number[] = [];
  if (order.length < count) for (let i = 0; i < count; i++) if (indegree[i]! > 0) leftover.push(i);
  return { order, leftover };
}

/**
 * Finds one cycle among the leftover nodes of a failed sort, following "requires" (predecessor)
 * links: every leftover node has a leftover predecessor, so the walk must come back on itself.
 */
function findCycle(leftover: readonly number[], predecessors: readonly number[][]): number[] {
  const left = new Set(leftover);
  const seenAt = new Map<number, number>();
  const path: number[] = [];
  let node = leftover[0]!;
  while (!seenAt.has(node)) {
    seenAt.set(node, path.length);
    path.push(node);
    node = predecessors[node]!.find((p) => left.has(p))!;
  }
  const cycle = path.slice(seenAt.get(node));
  cycle.push(node);
  return cycle;
}

/**
 * Builds the plan for one event name: the handlers whose `want` names can match, sorted by their
 * `requires`/`requiredBy` edges with ties in registration order. Throws `RequirementsError` for a
 * cycle or for a `requires` on a handler that is not registered or does not want this name.
 */
export function buildPlan(eventName: string, records: Iterable<HandlerRecord>): Plan {
  const registered = new Set<string>();
  const candidates: HandlerRecord[] = [];
  const conditionsOf: PlanEntry['conditions'][] = [];
  for (const record of records) {
    registered.add(record.name);
    const conditions = applicableConditions(record, eventName);
    if (conditions === undefined) continue;
    candidates.push(record);
    conditionsOf.push(conditions);
  }

  const position = new Map<string, number>();
  for (const [i, record] of candidates.entries()) position.set(record.name, i);
  const successors = candidates.map(() => new Set<number>());
  const predecessors = candidates.map((): number[] => []);
  const addEdge = (before: number, after: number) => {
    if (successors[before]!.has(after)) return;
    successors[before]!.add(after);
    predecessors[after]!.push(before);
  };

  const details: MissingRequirement[] = [];
  candidates.forEach((record, i) => {
    for (const required of record.requires) {
      const at = position.get(required);
      if (at === undefined) {
        details.push({
          handler: record.name,
          requires: required,
          reason: registered.has(required) ? 'unselected' : 'unregistered',
        });
      } else addEdge(at, i);
    }
    // requiredBy on a handler that is absent for this name constrains nothing.
    for (const dependent of record.requiredBy) {
      const at = position.get(dependent);
      if (at !== undefined) addEdge(i, at);
    }
  });

  if (details.length > 0) {
    const lines = details.map((d) =>
      d.reason === 'unregistered'
        ? `"${d.handler}" requires "${d.requires}", which is not registered`
        : `"${d.handler}" requires "${d.requires}", which does not want "${eventName}" events`,
    );
    throw new RequirementsError(
      `Cannot run the handlers of event "${eventName}": ${lines.join('; ')}. ` +
        `Register the required handler and give it a want(...) that covers "${eventName}", ` +
        `or remove the requires(...) from the handler that needs it.`,
      { event: eventName, details },
    );
  }

  const { order, leftover } = stableTopologicalSort(candidates.length, successors);
  if (leftover.length > 0) {
    const cycle = findCycle(leftover, predecessors).map((i) => candidates[i]!.name);
    throw new RequirementsError(
      `Cannot order the handlers of event "${eventName}": requirement cycle ${cycle.join(' -> ')} ` +
        `(read "->" as "requires"; requiredBy(x) on a handler counts as x requiring it). ` +
        `Remove one of the requires/requiredBy between ${quote([...new Set(cycle)])} to break the cycle.`,
      { event: eventName, cycle },
    );
  }

  const entries: PlanEntry[] = order.map((i) => ({
    name: candidates[i]!.name,
    fn: candidates[i]!.fn as PlanEntry['fn'],
    conditions: conditionsOf[i] ?? null,
    requires: [] as number[],
  }));
  // Re-express requires edges as plan positions, for the per-event check on conditional handlers.
  const planPosition = new Map<number, number>();
  for (const [at, candidate] of order.entries()) planPosition.set(candidate, at);
  order.forEach((candidate, at) => {
    const requires = entries[at]!.requires as number[];
    for (const required of candidates[candidate]!.requires) {
      requires.push(planPosition.get(position.get(required)!)!);
    }
  });
  return {
    event: eventName,
    entries,
    names: entries.map((e) => e.name),
    conditional: entries.some((e) => e.conditions !== null),
  };
}
