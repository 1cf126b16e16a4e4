import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Event,
  NamedEvent,
  type OnError,
  Processor,
  RequirementsError,
  requiredBy,
  requires,
  StopProcessing,
  want,
} from '../src/index.js';

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

const EVENT_NAMES = ['a', 'b', 'c'] as const;
type Act = 'none' | 'emit' | 'throw' | 'stop' | 'stopValue';

/** Random handlers: what each wants, what it does per event name, whether it is async, onError. */
const scenarioArbitrary = fc.record({
  handlers: fc.array(
    fc.record({
      wants: fc.subarray([...EVENT_NAMES]),
      // Some handlers only take events of an even depth (a predicate, so a selection pass runs).
      evenOnly: fc.boolean(),
      acts: fc.record({
        a: fc.constantFrom<Act>('none', 'emit', 'throw', 'stop', 'stopValue'),
        b: fc.constantFrom<Act>('none', 'emit', 'throw', 'stop', 'stopValue'),
        c: fc.constantFrom<Act>('none', 'emit', 'throw', 'stop', 'stopValue'),
      }),
      emits: fc.subarray([...EVENT_NAMES], { minLength: 1 }),
      async: fc.boolean(),
    }),
    { minLength: 1, maxLength: 6 },
  ),
  onError: fc.constantFrom<OnError>('stop', 'continue', 'collect'),
});

type Scenario = typeof scenarioArbitrary extends fc.Arbitrary<infer S> ? S : never;

/** Runs a scenario; with `asyncMode`, handlers marked async return (or reject) promises. */
async function runScenario(scenario: Scenario, asyncMode: boolean) {
  const trace: string[] = [];
  const proc = new Processor({
    onError: scenario.onError,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  scenario.handlers.forEach((h, i) => {
    const name = `h${i}`;
    let fn = (_p: Processor, ev: Event) => {
      const depth = ev.ctxt as number;
      trace.push(`${name}@${ev.name}${depth}`);
      const act = h.acts[ev.name as (typeof EVENT_NAMES)[number]];
      let outcome: { value?: Event[]; error?: unknown } = {};
      if (act === 'emit' && depth < 3) outcome = { value: h.emits.map((n) => new NamedEvent(n, depth + 1)) };
      if (act === 'throw') outcome = { error: new Error(`${name} failed on ${ev.name}${depth}`) };
      if (act === 'stop') outcome = { error: new StopProcessing() };
      if (act === 'stopValue') outcome = { error: new StopProcessing(`${name}@${ev.name}${depth}`) };
      if (asyncMode && h.async) {
        return 'error' in outcome ? Promise.reject(outcome.error) : Promise.resolve(outcome.value);
      }
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    };
    if (h.wants.length > 0) fn = want(...h.wants)(fn);
    if (h.evenOnly) fn = want((ev: Event) => (ev.ctxt as number) % 2 === 0)(fn);
    proc.register(fn, name);
  });
  const root = new NamedEvent('a', 0);
  try {
    const value = asyncMode ? await proc.process(root) : proc.processSync(root);
    return { trace, value };
  } catch (err) {
    const e = err as Error & { code?: string; errors?: unknown[] };
    const causes = e.errors?.map((c) => (c as Error).message);
    return { trace, error: { name: e.name, message: e.message, code: e.code, causes } };
  }
}

describe('process and processSync (property)', () => {
  it('give the same runs, results and errors whether handlers settle now or later', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async (scenario) => {
        const sync = await runScenario(scenario, false);
        expect(await runScenario(scenario, true)).toEqual(sync);
      }),
      { numRuns: 500 },
    );
  });
});
