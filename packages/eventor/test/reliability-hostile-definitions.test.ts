// Hostile input to the definition API: names and sequences with quotes, SQL, unicode, emoji, control
// characters, look-alike numbers and huge lengths (fuzzed with fast-check); huge and cyclic args for
// every construct; results that cannot be stored and thrown values that fight back. Each must either
// work exactly or end in a typed error naming the cause, with the engine and the store left healthy.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  currentStep,
  Eventor,
  type EventorOptions,
  FlowConfigError,
  FlowDefinitionError,
  FlowError,
  ResourcePool,
  type StepOptions,
  type TaskRecord,
} from '../src/index.js';
import { storeIntegrity } from './helpers/raw-store.js';
import { type Sandbox, sandbox, sleep } from './helpers/sandbox.js';

const RUNS = Number(process.env.FLOW_FUZZ_RUNS ?? 25);
const STEPS_MODULE = new URL('./fixtures-hostile/steps.mjs', import.meta.url);

const NASTY = [
  "'; DROP TABLE tasks; --",
  '"; DROP TABLE runs; --',
  "Robert'); DROP TABLE triggers;--",
  "' OR '1'='1",
  '%',
  '_%_',
  '\\',
  '`tasks`',
  '[tasks]',
  '?',
  ':name',
  '$1',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a name that looks like an interpolation is the point
  '${process.exit(1)}',
  'a->b',
  'step:x@0',
  'x,event:y',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  '🚀',
  '👨‍👩‍👧‍👦',
  'e\u0301',
  '\u202eevil',
  'Ω≈ç√∫',
  '\t\n\r',
  ' ',
  '0',
  '00',
  '1',
  '01',
  '-1',
  '1.0',
  '1e3',
  'NaN',
  'Infinity',
  'null',
  'undefined',
];

/** Names a user could write: any well-formed text without NUL (NUL has its own test below). */
const wellFormedName = fc
  .oneof(
    { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...NASTY), fc.string()).map(([a, b]) => a + b) },
    { weight: 1, arbitrary: fc.integer({ min: 5_000, max: 20_000 }).map((n) => '長'.repeat(n)) },
  )
  .filter((name) => !name.includes('\u0000'));

/** Sequences: names, integers and floats (a number n is the sequence String(n)). */
const sequenceOf = (name: fc.Arbitrary<string>) =>
  fc.oneof(name, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));

/**
 * A two-step flow under hostile names: event -> step, whose success -> (after a delay) a second step.
 * One pass, close, a `continue` on a new Eventor: the names and sequence must come back exactly.
 */
async function roundTrip(
  box: Sandbox,
  store: string,
  event: string,
  step: string,
  sequence: string | number,
) {
  const define = (runMode: EventorOptions['runMode']) => {
    const ev = box.eventor({ name: 'hostile', store, runMode });
    const go = ev.addEvent(event);
    const done = ev.addEvent(`${event}\u2192done`);
    const first = ev.addStep(step, {
      func: (arg: string) => ({ arg, name: currentStep().name, sequence: currentStep().sequence }),
      args: [step],
      triggers: { success: done },
    });
    ev.addAssoc(go, first);
    ev.addAssoc(done, ev.addStep(`${step}\u2192second`, { func: () => currentStep().sequence }), {
      delay: 15,
    });
    return { ev, go };
  };
  const expected = String(sequence);
  const a = define('restart');
  expect(a.ev.triggerEvent(a.go, sequence)).toBe(true);
  expect(a.ev.triggerEvent(a.go, expected)).toBe(false);
  // one pass; the delay is normally still pending (a slow pass over huge names may see it due)
  const first = await a.ev.run({ maxLoops: 1 });
  expect(first.ok).toBe(true);
  const wait = a.ev.pending().nextDelayIn;
  a.ev.close();
  if (wait !== null) await sleep(wait + 5);
  const b = define('continue');
  expect(await b.ev.run()).toMatchObject({ ok: true, status: 'success' });
  const tasks = b.ev.tasks().map((t) => [t.step, t.sequence, t.status, t.result]);
  b.ev.close();
  expect(tasks).toEqual([
    [step, expected, 'success', { arg: step, name: step, sequence: expected }],
    [`${step}\u2192second`, expected, 'success', expected],
  ]);
  expect(await storeIntegrity(store)).toBe('ok');
}

describe('hostile names and sequences', () => {
  it('keeps any well-formed name and sequence exactly: quotes, SQL, unicode, emoji, numbers, 20k chars', async () => {
    const box = sandbox('hostile');
    let n = 0;
    await fc.assert(
      fc.asyncProperty(wellFormedName, wellFormedName, sequenceOf(wellFormedName), (event, step, sequence) =>
        roundTrip(box, box.anotherStore(`names-${n++}.db`), event, step, sequence),
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('refuses a name or sequence that is not well-formed UTF-16 (a lone surrogate), or keeps it exactly', async () => {
    // SQLite stores text as UTF-8, where a lone surrogate has no encoding: it would come back as
    // U+FFFD, so the store would no longer match the flow. Refusing it up front is the typed answer.
    const box = sandbox('hostile');
    let n = 0;
    const anyText = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(anyText, anyText, sequenceOf(anyText), async (event, step, sequence) => {
        try {
          await roundTrip(box, box.anotherStore(`utf16-${n++}.db`), event, step, sequence);
        } catch (error) {
          if (error instanceof FlowDefinitionError) return;
          throw error;
        }
      }),
      {
        numRuns: RUNS * 2,
        examples: [
          ['go', 'a\uD800', '0'],
          ['go', 's', '\uDC00'],
        ],
      },
    );
  }, 120_000);

  it('runs both tasks when one step and sequence joined with NUL look like another pair', async () => {
    // ('x\0y', 'z') and ('x', 'y\0z') are different tasks; a key built by joining them with NUL is not
    const box = sandbox('hostile');
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const calls: string[] = [];
    const record = () => calls.push(JSON.stringify([currentStep().name, currentStep().sequence]));
    ev.addAssoc(go, [ev.addStep('x\u0000y', { func: record }), ev.addStep('x', { func: record })]);
    ev.triggerEvent(go, 'z');
    ev.triggerEvent(go, 'y\u0000z');

    const result = await ev.run();

    expect(result.status).toBe('success');
    expect(calls.sort()).toEqual(
      [
        ['x', 'y\u0000z'],
        ['x', 'z'],
        ['x\u0000y', 'y\u0000z'],
        ['x\u0000y', 'z'],
      ]
        .map((c) => JSON.stringify(c))
        .sort(),
    );
    expect(ev.tasks()).toHaveLength(4);
  });

  it('keeps two assocs whose targets, joined into one text, read the same', async () => {
    // addAssoc(go, [b, c]) and addAssoc(go, 'b,step:c') are different assocs of different steps
    const box = sandbox('hostile');
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const calls: string[] = [];
    const step = (name: string) => ev.addStep(name, { func: () => calls.push(name) });
    ev.addAssoc(go, [step('b'), step('c')]);
    ev.addAssoc(go, step('b,step:c'));
    ev.triggerEvent(go);

    await ev.run();

    expect(calls.sort()).toEqual(['b', 'b,step:c', 'c']);
  });

  it('throws only typed errors for any value given to the definition API', () => {
    const ev = new Eventor({ name: 'fuzz', store: ':memory:', logLevel: 'silent' });
    const go = ev.addEvent('go');
    const pool = new ResourcePool('pool', { limit: 2 });
    let n = 0;
    const value = fc.oneof(
      fc.anything(),
      fc.constantFrom<unknown>(
        go,
        pool,
        [[pool, 1]],
        [[pool, 'x']],
        [[null, 1]],
        { success: [null] },
        () => 1,
      ),
    );
    const stepKeys = ['func', 'module', 'export', 'command', 'cwd', 'env', 'args', 'triggers', 'acquires'];
    const configKeys = ['stopOnException', 'maxConcurrent', 'taskConstruct', 'timeout', 'retries', 'backoff'];
    const options = fc.record({
      step: fc.dictionary(fc.constantFrom(...stepKeys, 'releases', 'recovery'), value, { maxKeys: 4 }),
      config: fc.option(fc.dictionary(fc.constantFrom(...configKeys), value, { maxKeys: 3 })),
    });
    const untyped = new Set<string>();
    const attempt = (what: string, call: () => unknown) => {
      try {
        call();
      } catch (error) {
        if (!(error instanceof FlowError)) untyped.add(`${what}: ${String(error)}`);
      }
    };
    fc.assert(
      fc.property(options, value, value, ({ step, config }, a, b) => {
        const stepOptions = (config === null ? step : { ...step, config }) as StepOptions;
        attempt('addStep', () => ev.addStep(`s${n++}`, stepOptions));
        attempt('addStep(name, options)', () => ev.addStep(`t${n++}`, a as StepOptions));
        attempt('addEvent(name)', () => ev.addEvent(a as string));
        attempt('addEvent(name, options)', () => ev.addEvent(`o${n++}`, a as never));
        attempt('addEvent(name, { expr })', () => ev.addEvent(`e${n++}`, { expr: a as never }));
        attempt('addAssoc(event, targets, options)', () => ev.addAssoc(go, a as never, b as never));
        attempt('addAssoc(event, step, options)', () => ev.addAssoc(go, ev.addStep(`a${n++}`), a as never));
        attempt('triggerEvent(event, sequence)', () => ev.triggerEvent(go, a as string));
        attempt('tasks(query)', () => ev.tasks(a as never));
        attempt('tasks({ limit, offset })', () => ev.tasks({ limit: a, offset: b } as never));
        attempt('new ResourcePool(name, options)', () => new ResourcePool(a as string, b as never));
        attempt('new Eventor({ config })', () =>
          new Eventor({ name: 'x', store: ':memory:', config: a as never, logLevel: 'silent' }).close(),
        );
      }),
      { numRuns: 300 },
    );
    ev.close();
    expect([...untyped]).toEqual([]);
  });
});

describe('hostile task queries', () => {
  it.each([
    ['null', null],
    ['a fractional limit', { limit: 1.5 }],
    ['an array offset', { limit: 10, offset: [1, 2] }],
    ['an empty array limit', { limit: [] }],
    ['an object limit', { limit: { a: 1 } }],
    ['a step that is not text', { step: { name: 's' } }],
  ])('refuses tasks(%s) with a FlowConfigError naming the option', async (_, query) => {
    const box = sandbox('hostile');
    const ev = box.eventor();
    ev.addEvent('go');
    let thrown: unknown;
    try {
      ev.tasks(query as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FlowConfigError);
    expect(await storeIntegrity(box.store)).toBe('ok');
  });
});

/** A flow with one hostile step and one healthy sibling, both started by `go`; failures do not stop it. */
function withSibling(box: Sandbox, hostile: StepOptions, options: EventorOptions = {}) {
  const ev = box.eventor({ config: { stopOnException: false }, ...options });
  const go = ev.addEvent('go');
  ev.addAssoc(go, [ev.addStep('hostile', hostile), ev.addStep('sibling', { func: () => 'fine' })]);
  ev.triggerEvent(go, 'seq-1');
  return ev;
}

function taskOf(ev: Eventor, step: string): TaskRecord {
  return ev.tasks({ step })[0] as TaskRecord;
}

/** The run ended, the hostile step failed with a typed error naming it and `cause`, the sibling ran. */
async function expectTypedFailure(box: Sandbox, hostile: StepOptions, cause: RegExp) {
  const ev = withSibling(box, hostile);
  const result = await ev.run();
  expect(result).toMatchObject({ ok: false, status: 'failure' });
  const task = taskOf(ev, 'hostile');
  expect(task.status).toBe('failure');
  expect(task.error?.name).toBe('StepFailedError');
  expect(task.error?.message).toMatch(/^Step "hostile" failed in sequence "seq-1": /);
  expect(task.error?.message).toMatch(cause);
  expect(taskOf(ev, 'sibling')).toMatchObject({ status: 'success', result: 'fine' });
  ev.close();
  expect(await storeIntegrity(box.store)).toBe('ok');
  // the engine and store stay usable: recover with the step mended skips the sibling, runs the rest
  const mended = withSibling(box, { func: () => 'mended' }, { runMode: 'recover' });
  expect(await mended.run()).toMatchObject({ ok: true, status: 'success', recovery: 1 });
  expect(mended.tasks({ recovery: 1 }).map((t) => [t.step, t.status, t.skipped])).toEqual([
    ['hostile', 'success', false],
    ['sibling', 'success', true],
  ]);
}

const worker = (exportName: string, args: unknown[] = []): StepOptions => ({
  module: STEPS_MODULE,
  export: exportName,
  args,
  config: { taskConstruct: 'worker' },
});
const child = (exportName: string, args: unknown[] = []): StepOptions => ({
  module: STEPS_MODULE,
  export: exportName,
  args,
  config: { taskConstruct: 'process' },
});

describe('hostile args', () => {
  const huge = 'a'.repeat(8 * 2 ** 20);

  it.each([
    ['inline', { func: (value: string) => value.length, args: [huge] }],
    ['worker', worker('sizeOf', [huge])],
    ['process', child('sizeOf', [huge])],
  ] as Array<[string, StepOptions]>)('hands 8 MB of args whole to a %s step', async (_, step) => {
    const box = sandbox('hostile');
    const ev = withSibling(box, step);
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
    expect(taskOf(ev, 'hostile').result).toBe(huge.length);
  });

  it('stores an 8 MB result and reads it back', async () => {
    const box = sandbox('hostile');
    const ev = withSibling(box, worker('bigResult', [8 * 2 ** 20]));
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
    expect((taskOf(ev, 'hostile').result as string).length).toBe(8 * 2 ** 20);
    ev.close();
    expect(await storeIntegrity(box.store)).toBe('ok');
  });

  it('gives cyclic args to inline steps as they are, and across to worker and process steps with the cycle kept', async () => {
    const box = sandbox('hostile');
    const cyclic: { self?: unknown; name: string } = { name: 'cyclic' };
    cyclic.self = cyclic;
    const ev = box.eventor();
    const go = ev.addEvent('go');
    ev.addAssoc(go, [
      ev.addStep('inline', { func: (value: typeof cyclic) => value === cyclic, args: [cyclic] }),
      ev.addStep('worker', worker('isCyclic', [cyclic])),
      ev.addStep('process', child('isCyclic', [cyclic])),
    ]);
    ev.triggerEvent(go);
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
    expect(ev.tasks().map((t) => [t.step, t.result])).toEqual([
      ['inline', true],
      ['worker', true],
      ['process', true],
    ]);
  });

  it.each([
    ['worker', worker('sizeOf', [{ f: () => 1 }]), /cannot be sent to a worker thread/],
    ['process', child('sizeOf', [{ f: () => 1 }]), /cannot be sent to a child process/],
  ] as Array<[string, StepOptions, RegExp]>)(
    'fails a %s step whose args hold a function, typed',
    async (_, step, cause) => {
      await expectTypedFailure(sandbox('hostile'), step, cause);
    },
  );
});

describe('results that cannot be stored', () => {
  it.each([
    [
      'an object whose toJSON throws (a function: stored results keep data, not methods)',
      {
        func: () => ({
          toJSON() {
            throw new Error('toJSON refused');
          },
        }),
      },
      /its result cannot be stored: it holds a function \(toJSON\) \(at \.toJSON\)/,
    ],
    [
      'an object whose getter throws',
      {
        func: () => ({
          get secret() {
            throw new Error('getter refused');
          },
        }),
      },
      /its result cannot be stored: .*getter refused/,
    ],
    [
      'a proxy whose traps throw',
      {
        func: () =>
          new Proxy(
            {},
            {
              ownKeys() {
                throw new Error('trap refused');
              },
            },
          ),
      },
      /its result cannot be stored: it is a Proxy/,
    ],
    [
      'a function from a worker step',
      worker('returnsFunction'),
      /its result cannot be stored: it is a function/,
    ],
    [
      'a function from a process step',
      child('returnsFunction'),
      /its result cannot be stored: it is a function/,
    ],
  ] as Array<[string, StepOptions, RegExp]>)(
    'fails a step returning %s with a typed error naming the cause',
    async (_, step, cause) => {
      await expectTypedFailure(sandbox('hostile'), step, cause);
    },
  );

  // JSON could not hold these; structured clone can, so they are stored and read back as returned
  it.each([
    ['a BigInt', { func: () => ({ total: 10n ** 30n }) }],
    ['a BigInt from a worker step', worker('returnBigInt')],
    ['a BigInt from a process step', child('returnBigInt')],
  ] as Array<[string, StepOptions]>)('stores a step returning %s as it was returned', async (_, step) => {
    const ev = withSibling(sandbox('hostile'), step);
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
    expect(taskOf(ev, 'hostile').result).toEqual({ total: 10n ** 30n });
  });

  it.each([
    ['a cyclic object', { func: () => cyclicValue() }],
    ['a cyclic object from a worker step', worker('returnCyclic')],
    ['a cyclic object from a process step', child('returnCyclic')],
  ] as Array<[string, StepOptions]>)('stores a step returning %s, cycle included', async (_, step) => {
    const ev = withSibling(sandbox('hostile'), step);
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
    const result = taskOf(ev, 'hostile').result as { name: string; self: unknown };
    expect(result.name).toBe('cyclic');
    expect(result.self).toBe(result);
  });
});

function cyclicValue(): Record<string, unknown> {
  const value: Record<string, unknown> = { name: 'cyclic' };
  value.self = value;
  return value;
}

describe('thrown values and thenables that fight back', () => {
  const throwing = (what: string) => () => {
    throw new Error(what);
  };
  it.each([
    [
      'throws an object with no prototype',
      { func: () => Promise.reject(Object.create(null)) },
      /\[object|null|threw/i,
    ],
    [
      'throws synchronously an object with no prototype',
      {
        func: () => {
          throw Object.create(null);
        },
      },
      /\[object|null|threw/i,
    ],
    [
      'throws an Error whose message getter throws',
      {
        func: () => {
          const error = new Error('hidden');
          Object.defineProperty(error, 'message', { get: throwing('message getter refused') });
          throw error;
        },
      },
      /Error/,
    ],
    [
      'throws a proxy whose every trap throws',
      {
        func: () => {
          throw new Proxy({}, { get: throwing('get refused'), getPrototypeOf: throwing('proto refused') });
        },
      },
      /threw|refused|Proxy/i,
    ],
    [
      'returns a thenable whose then getter throws',
      {
        func: () => ({
          // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the point
          get then() {
            return throwing('then getter refused')();
          },
        }),
      },
      /then getter refused/,
    ],
    [
      'returns a thenable whose then throws',
      {
        // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the point
        func: () => ({ then: throwing('then refused') }),
      },
      /then refused/,
    ],
    ['throws an object with no prototype in a worker step', worker('throwNullPrototype'), /./],
    ['throws an object with no prototype in a process step', child('throwNullPrototype'), /./],
  ] as Array<[string, StepOptions, RegExp]>)(
    'fails a step that %s with a typed error, and the run goes on',
    async (_, step, cause) => {
      await expectTypedFailure(sandbox('hostile'), step, cause);
    },
  );
});
