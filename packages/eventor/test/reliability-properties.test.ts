import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { and, currentStep, Eventor, type EventRef, type ExprItem, or } from '../src/index.js';
import { freshStore } from './helpers/test-store.mjs';

// ---- expressions --------------------------------------------------------------------------------

/** An expression as data: an event name, or and / or / list (AND) of items. */
type Expr = string | { op: 'and' | 'or' | 'list'; items: Expr[] };

const BASE = ['e0', 'e1', 'e2', 'e3', 'e4'];

/** Expression trees over `names`, at most `depth` levels of and / or / list. */
function exprOver(names: string[], depth: number): fc.Arbitrary<Expr> {
  const leaf = fc.constantFrom(...names);
  if (depth === 0) return leaf;
  const node = fc.record({
    op: fc.constantFrom('and' as const, 'or' as const, 'list' as const),
    items: fc.array(exprOver(names, depth - 1), { minLength: 1, maxLength: 3 }),
  });
  return fc.oneof({ weight: 2, arbitrary: leaf }, { weight: 3, arbitrary: node });
}

/** The reference: an event holds when it was triggered, or (derived) when its expression holds. */
function holds(expr: Expr, fired: ReadonlySet<string>): boolean {
  if (typeof expr === 'string') return fired.has(expr);
  const values = expr.items.map((item) => holds(item, fired));
  return expr.op === 'or' ? values.some(Boolean) : values.every(Boolean);
}

function toItem(expr: Expr, events: ReadonlyMap<string, EventRef>): ExprItem {
  if (typeof expr === 'string') return events.get(expr) as EventRef;
  const items = expr.items.map((item) => toItem(item, events));
  return expr.op === 'list' ? items : expr.op === 'and' ? and(...items) : or(...items);
}

const expressionCase = fc
  .record({
    derivedCount: fc.integer({ min: 0, max: 3 }),
    targets: fc.integer({ min: 1, max: 4 }),
    sequences: fc.integer({ min: 1, max: 4 }),
    split: fc.nat(),
  })
  .chain(({ derivedCount, targets, sequences, split }) => {
    // derived events d0.., each over the base events and the derived ones before it
    const derivedNames = Array.from({ length: derivedCount }, (_, i) => `d${i}`);
    const derived = derivedNames.map((_, i) => exprOver([...BASE, ...derivedNames.slice(0, i)], 3));
    const names = [...BASE, ...derivedNames];
    return fc.record({
      derived: fc.tuple(...derived),
      targets: fc.array(exprOver(names, 3), { minLength: targets, maxLength: targets }),
      // what is triggered in each sequence: mostly base events, sometimes a derived one directly
      sequences: fc.array(fc.subarray(names), { minLength: sequences, maxLength: sequences }),
      split: fc.constant(split),
    });
  });

describe('expression evaluation (property)', () => {
  it('fires an expression event, once per sequence, exactly when the reference evaluator says it holds', async () => {
    await fc.assert(
      fc.asyncProperty(expressionCase, async ({ derived, targets, sequences, split }) => {
        const ev = new Eventor({ name: 'expr-property', store: ':memory:', logLevel: 'silent' });
        try {
          const events = new Map<string, EventRef>(BASE.map((name) => [name, ev.addEvent(name)]));
          derived.forEach((expr, i) => {
            events.set(`d${i}`, ev.addEvent(`d${i}`, { expr: toItem(expr, events) }));
          });
          const calls: string[] = [];
          targets.forEach((expr, k) => {
            const target = ev.addEvent(`t${k}`, { expr: toItem(expr, events) });
            ev.addAssoc(
              target,
              ev.addStep(`on_t${k}`, {
                func: () => {
                  calls.push(`t${k}/${currentStep().sequence}`);
                },
              }),
            );
          });
          // trigger the fired leaves of every sequence, part of them before a first run and the rest
          // before a second run of the same eventor (which goes on with the same run)
          const triggers = sequences.flatMap((leaves, q) =>
            leaves.map((leaf) => [leaf, String(q + 1)] as const),
          );
          const cut = triggers.length === 0 ? 0 : split % (triggers.length + 1);
          for (const [leaf, q] of triggers.slice(0, cut)) ev.triggerEvent(events.get(leaf) as EventRef, q);
          expect((await ev.run()).status).toBe('success');
          for (const [leaf, q] of triggers.slice(cut)) ev.triggerEvent(events.get(leaf) as EventRef, q);
          expect((await ev.run()).status).toBe('success');

          const expected: string[] = [];
          sequences.forEach((leaves, q) => {
            const fired = new Set<string>(leaves);
            derived.forEach((expr, i) => {
              if (holds(expr, fired)) fired.add(`d${i}`);
            });
            targets.forEach((expr, k) => {
              if (holds(expr, fired)) expected.push(`t${k}/${q + 1}`);
            });
          });
          expect(calls.sort()).toEqual(expected.sort());
        } finally {
          ev.close();
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});

// ---- recovery -----------------------------------------------------------------------------------

type Start = { type: 'root' } | { type: 'after'; parent: number } | { type: 'join'; expr: JoinExpr };
type JoinExpr = number | { op: 'and' | 'or' | 'list'; items: JoinExpr[] };

interface DagStep {
  start: Start;
  async: boolean;
  /** Has a failure handler step `h<i>` (its failure is then handled). */
  handled: boolean;
}

function joinOver(parents: number[], depth: number): fc.Arbitrary<JoinExpr> {
  const leaf = fc.constantFrom(...parents);
  if (depth === 0) return leaf;
  return fc.oneof(
    leaf,
    fc.record({
      op: fc.constantFrom('and' as const, 'or' as const, 'list' as const),
      items: fc.array(joinOver(parents, depth - 1), { minLength: 1, maxLength: 3 }),
    }),
  );
}

/** Step i starts at the root, after one earlier step, or when an expression over earlier steps holds. */
const dagArbitrary: fc.Arbitrary<DagStep[]> = fc.integer({ min: 2, max: 8 }).chain((count) =>
  fc.tuple(
    ...Array.from({ length: count }, (_, i) => {
      const parents = Array.from({ length: i }, (__, j) => j);
      const start: fc.Arbitrary<Start> =
        i === 0
          ? fc.constant({ type: 'root' as const })
          : fc.oneof(
              { weight: 1, arbitrary: fc.constant({ type: 'root' as const }) },
              {
                weight: 3,
                arbitrary: fc.constantFrom(...parents).map((parent) => ({ type: 'after' as const, parent })),
              },
              { weight: 3, arbitrary: joinOver(parents, 2).map((expr) => ({ type: 'join' as const, expr })) },
            );
      return fc.record({ start, async: fc.boolean(), handled: fc.boolean() });
    }),
  ),
);

const SEQUENCES = ['1', '2'];
type TaskKey = string; // `s<i>/<sequence>` or `h<i>/<sequence>`

const recoveryCase = dagArbitrary.chain((steps) => {
  const keys = SEQUENCES.flatMap((q) => steps.map((_, i) => `s${i}/${q}`));
  // failure rounds: each round's set of (step, sequence) that throw; a last round without failures
  return fc.record({
    steps: fc.constant(steps),
    rounds: fc.array(fc.subarray(keys), { minLength: 1, maxLength: 3 }),
    // a cap changes the order steps run in, never which ones run
    maxConcurrent: fc.integer({ min: -1, max: 3 }),
  });
});

function joinHolds(expr: JoinExpr, succeeded: (i: number) => boolean): boolean {
  if (typeof expr === 'number') return succeeded(expr);
  const values = expr.items.map((item) => joinHolds(item, succeeded));
  return expr.op === 'or' ? values.some(Boolean) : values.every(Boolean);
}

/**
 * The reference answer for one round: which tasks are called, given what succeeded in earlier rounds
 * (skipped now, but firing their success triggers) and which tasks throw in this round.
 */
function referenceRound(
  steps: DagStep[],
  succeededBefore: ReadonlySet<TaskKey>,
  failing: ReadonlySet<TaskKey>,
): { called: Set<TaskKey>; succeeded: Set<TaskKey> } {
  const called = new Set<TaskKey>();
  const succeeded = new Set<TaskKey>();
  for (const q of SEQUENCES) {
    const ok = new Set<number>();
    steps.forEach((step, i) => {
      const key = `s${i}/${q}`;
      const start = step.start;
      const reached =
        start.type === 'root' ||
        (start.type === 'after' && ok.has(start.parent)) ||
        (start.type === 'join' && joinHolds(start.expr, (j) => ok.has(j)));
      if (!reached) return;
      if (succeededBefore.has(key)) {
        ok.add(i);
        succeeded.add(key);
        return;
      }
      called.add(key);
      if (failing.has(key)) {
        const handler = `h${i}/${q}`;
        // its failure handler runs, unless it succeeded in an earlier round (then it is skipped)
        if (step.handled) {
          if (!succeededBefore.has(handler)) called.add(handler);
          succeeded.add(handler);
        }
        return;
      }
      ok.add(i);
      succeeded.add(key);
    });
  }
  return { called, succeeded };
}

function joinItem(expr: JoinExpr, done: EventRef[]): ExprItem {
  if (typeof expr === 'number') return done[expr] as EventRef;
  const items = expr.items.map((item) => joinItem(item, done));
  return expr.op === 'list' ? items : expr.op === 'and' ? and(...items) : or(...items);
}

/** Builds the DAG flow; every call is pushed to `calls`; tasks in `failing` throw. */
function buildDag(
  store: string,
  runMode: 'restart' | 'recover',
  steps: DagStep[],
  failing: ReadonlySet<TaskKey>,
  calls: TaskKey[],
  config: { stopOnException: boolean; maxConcurrent: number },
): Eventor {
  const ev = new Eventor({ name: 'dag-property', store, runMode, logLevel: 'silent', config });
  const start = ev.addEvent('start');
  const done = steps.map((_, i) => ev.addEvent(`done_s${i}`));
  steps.forEach((step, i) => {
    const call = async (name: string) => {
      const key = `${name}/${currentStep().sequence}`;
      calls.push(key);
      if (step.async) await new Promise((resolve) => setTimeout(resolve, i % 3));
      if (failing.has(key)) throw new Error(`${key} fails in this round`);
      return key;
    };
    const failed = step.handled ? ev.addEvent(`failed_s${i}`) : undefined;
    const ref = ev.addStep(`s${i}`, {
      func: () => call(`s${i}`),
      triggers: failed ? { success: done[i] as EventRef, failure: failed } : { success: done[i] as EventRef },
    });
    if (failed) ev.addAssoc(failed, ev.addStep(`h${i}`, { func: () => call(`h${i}`) }));
    const how = step.start;
    if (how.type === 'root') ev.addAssoc(start, ref);
    else if (how.type === 'after') ev.addAssoc(done[how.parent] as EventRef, ref);
    else ev.addAssoc(ev.addEvent(`join_s${i}`, { expr: joinItem(how.expr, done) }), ref);
  });
  for (const q of SEQUENCES) ev.triggerEvent(start, q);
  return ev;
}

/** Runs the rounds on one store: a restart, then a recover per round; the last round has no failures. */
async function runRounds(
  steps: DagStep[],
  rounds: TaskKey[][],
  config: { stopOnException: boolean; maxConcurrent: number },
  check: (round: {
    index: number;
    failing: ReadonlySet<TaskKey>;
    succeededBefore: ReadonlySet<TaskKey>;
    calls: TaskKey[];
    ok: boolean;
    succeeded: Set<TaskKey>;
    skipped: Set<TaskKey>;
  }) => void,
): Promise<Set<TaskKey>> {
  const dir = mkdtempSync(join(tmpdir(), 'flow-dag-property-'));
  const { store, drop } = freshStore(dir);
  const succeededBefore = new Set<TaskKey>();
  try {
    const all = [...rounds.map((round) => new Set(round)), new Set<TaskKey>()];
    for (const [index, failing] of all.entries()) {
      const calls: TaskKey[] = [];
      const ev = buildDag(store, index === 0 ? 'restart' : 'recover', steps, failing, calls, config);
      try {
        const result = await ev.run();
        const tasks = ev.tasks({ recovery: result.recovery });
        const keyOf = (t: { step: string; sequence: string }) => `${t.step}/${t.sequence}`;
        const succeeded = new Set(tasks.filter((t) => t.status === 'success').map(keyOf));
        const skipped = new Set(tasks.filter((t) => t.skipped).map(keyOf));
        check({ index, failing, succeededBefore, calls, ok: result.ok, succeeded, skipped });
        for (const key of succeeded) succeededBefore.add(key);
      } finally {
        ev.close();
      }
    }
    return succeededBefore;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await drop();
  }
}

const stepOf = (key: TaskKey) => Number(key.slice(1, key.indexOf('/')));
const sorted = (keys: Iterable<TaskKey>) => [...keys].sort();
const everyStep = (steps: DagStep[]) => SEQUENCES.flatMap((q) => steps.map((_, i) => `s${i}/${q}`));

describe('recovery (property)', () => {
  it('calls exactly the reference set in each recovery: what did not succeed before and is reached now', async () => {
    await fc.assert(
      fc.asyncProperty(recoveryCase, async ({ steps, rounds, maxConcurrent }) => {
        const succeeded = await runRounds(
          steps,
          rounds,
          { stopOnException: false, maxConcurrent },
          (round) => {
            const reference = referenceRound(steps, round.succeededBefore, round.failing);
            expect(sorted(round.calls), `round ${round.index}`).toEqual(sorted(reference.called));
            // those that succeeded in an earlier round are skipped, never called
            expect(sorted(round.skipped), `round ${round.index} skipped`).toEqual(
              sorted([...reference.succeeded].filter((key) => round.succeededBefore.has(key))),
            );
            expect(sorted(round.succeeded), `round ${round.index} succeeded`).toEqual(
              sorted(reference.succeeded),
            );
            const unhandled = [...reference.called].some(
              (key) => round.failing.has(key) && !steps[stepOf(key)]?.handled,
            );
            expect(round.ok, `round ${round.index} ok`).toBe(!unhandled);
          },
        );
        // after the last round, without failures, every step succeeded in every sequence
        expect(everyStep(steps).filter((key) => !succeeded.has(key))).toEqual([]);
      }),
      { numRuns: 80 },
    );
  }, 90_000);

  it('with stopOnException, never calls a step that succeeded before and finishes everything once failures stop', async () => {
    // which steps an unhandled failure stops depends on timing, so the failing rounds are checked
    // against bounds; the last round, without failures, against the exact reference
    await fc.assert(
      fc.asyncProperty(recoveryCase, async ({ steps, rounds, maxConcurrent }) => {
        const succeeded = await runRounds(
          steps,
          rounds,
          { stopOnException: true, maxConcurrent },
          (round) => {
            const reference = referenceRound(steps, round.succeededBefore, round.failing);
            expect(round.calls.filter((key) => round.succeededBefore.has(key))).toEqual([]);
            expect(round.calls.filter((key) => !reference.called.has(key))).toEqual([]);
            expect(new Set(round.calls).size, `round ${round.index}: a step called twice`).toBe(
              round.calls.length,
            );
            if (round.failing.size === 0) expect(sorted(round.calls)).toEqual(sorted(reference.called));
            const unhandled = round.calls.some(
              (key) => round.failing.has(key) && !steps[stepOf(key)]?.handled,
            );
            expect(round.ok, `round ${round.index} ok`).toBe(!unhandled);
          },
        );
        expect(everyStep(steps).filter((key) => !succeeded.has(key))).toEqual([]);
      }),
      { numRuns: 60 },
    );
  }, 90_000);
});
