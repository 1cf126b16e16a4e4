import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Event, NamedEvent, Processor, RequirementsError, requiredBy, requires } from '../src/index.js';

/** A random DAG over handlers h0..h(n-1): an edge [a, b] means a must run before b. */
const dagArbitrary = fc
  .integer({ min: 1, max: 12 })
  .chain((n) =>
    fc.record({
      n: fc.constant(n),
      // A hidden topological rank per handler; edges only go from lower to higher rank.
      rank: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
      edges: fc.array(
        fc.record({
          a: fc.nat({ max: n - 1 }),
          b: fc.nat({ max: n - 1 }),
          // Declared as `requires` on the later handler or `requiredBy` on the earlier one.
          side: fc.constantFrom('requires', 'requiredBy'),
        }),
        { maxLength: 30 },
      ),
      registration: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    }),
  )
  .map(({ n, rank, edges, registration }) => {
    const position = new Map(rank.map((node, i) => [node, i]));
    const dagEdges = edges
      .filter((e) => e.a !== e.b)
      .map((e) => {
        const [before, after] = position.get(e.a)! < position.get(e.b)! ? [e.a, e.b] : [e.b, e.a];
        return { before, after, side: e.side };
      });
    return { n, edges: dagEdges, registration };
  });

function build(n: number, edges: { before: number; after: number; side: string }[], registration: number[]) {
  const proc = new Processor();
  const ran: string[] = [];
  for (const i of registration) {
    let fn = (_p: Processor, _ev: Event) => {
      ran.push(`h${i}`);
    };
    for (const e of edges) {
      if (e.side === 'requires' && e.after === i) fn = requires(`h${e.before}`)(fn);
      if (e.side === 'requiredBy' && e.before === i) fn = requiredBy(`h${e.after}`)(fn);
    }
    proc.register(fn, `h${i}`);
  }
  return { proc, ran, n };
}

describe('ordering (property)', () => {
  it('respects every edge of a random DAG, whatever the registration order', () => {
    fc.assert(
      fc.property(dagArbitrary, ({ n, edges, registration }) => {
        const { proc, ran } = build(n, edges, registration);
        proc.processSync(new NamedEvent('ev'));
        expect([...ran].sort()).toEqual([...Array(n).keys()].map((i) => `h${i}`).sort());
        for (const e of edges) {
          expect(ran.indexOf(`h${e.before}`)).toBeLessThan(ran.indexOf(`h${e.after}`));
        }
        expect(proc.order('ev')).toEqual(ran);
      }),
      { numRuns: 300 },
    );
  });

  it('runs, at each step, the earliest-registered handler whose requirements have run', () => {
    fc.assert(
      fc.property(dagArbitrary, ({ n, edges, registration }) => {
        const { proc } = build(n, edges, registration);
        const order = proc.order('ev');
        const done = new Set<string>();
        for (const name of order) {
          const ready = registration
            .map((i) => `h${i}`)
            .filter((h) => !done.has(h))
            .filter((h) => edges.every((e) => `h${e.after}` !== h || done.has(`h${e.before}`)));
          expect(name).toBe(ready[0]);
          done.add(name);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('names a real cycle when one edge closes a loop', () => {
    fc.assert(
      fc.property(dagArbitrary, fc.nat(), ({ n, edges, registration }, pick) => {
        fc.pre(edges.length > 0);
        // Reverse the path of one edge: from `after` back to `before` closes a cycle.
        const e = edges[pick % edges.length]!;
        const withCycle = [...edges, { before: e.after, after: e.before, side: 'requires' }];
        const { proc } = build(n, withCycle, registration);
        let err: unknown;
        try {
          proc.order('ev');
        } catch (caught) {
          err = caught;
        }
        expect(err).toBeInstanceOf(RequirementsError);
        const cycle = (err as RequirementsError).cycle;
        expect(cycle.length).toBeGreaterThanOrEqual(3);
        expect(cycle[0]).toBe(cycle[cycle.length - 1]);
        // Each step x -> y of the cycle is "x requires y": an edge y before x.
        for (let i = 0; i + 1 < cycle.length; i++) {
          const [x, y] = [cycle[i]!, cycle[i + 1]!];
          expect(withCycle.some((d) => `h${d.after}` === x && `h${d.before}` === y)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
