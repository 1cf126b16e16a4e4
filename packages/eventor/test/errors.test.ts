import { describe, expect, it } from 'vitest';
import {
  and,
  Eventor,
  type EventorOptions,
  FlowConfigError,
  FlowDefinitionError,
  FlowError,
  or,
  parseDuration,
  ResourcePool,
  StepFailedError,
  type StepOptions,
  StoreError,
} from '../src/index.js';
import { type Sandbox, sandbox } from './helpers/sandbox.js';

type ErrorClass = typeof FlowConfigError | typeof FlowDefinitionError;

/** Asserts that `fn` throws `kind` (a FlowError with a string code) whose message matches every pattern. */
function expectFlowError(fn: () => unknown, kind: ErrorClass, ...patterns: RegExp[]): void {
  let error: unknown;
  try {
    fn();
  } catch (caught) {
    error = caught;
  }
  expect(error, 'expected a throw').toBeInstanceOf(kind);
  expect(error).toBeInstanceOf(FlowError);
  expect(error).toBeInstanceOf(Error);
  expect(typeof (error as FlowError).code).toBe('string');
  for (const pattern of patterns) expect((error as Error).message).toMatch(pattern);
}

function flow(box: Sandbox) {
  const ev = box.eventor();
  const go = ev.addEvent('go');
  const s1 = ev.addStep('s1');
  return { ev, go, s1 };
}

describe('error classes', () => {
  it('are FlowErrors with distinct string codes', () => {
    const errors = [
      new FlowError('x'),
      new FlowConfigError('x'),
      new FlowDefinitionError('x'),
      new StoreError('x'),
      new StepFailedError('s1', '3', 'broken'),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(FlowError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toMatch(/^[A-Z_]+$/);
    }
    expect(new Set(errors.map((error) => error.code)).size).toBe(errors.length);
    expect(errors.map((error) => error.name)).toEqual([
      'FlowError',
      'FlowConfigError',
      'FlowDefinitionError',
      'StoreError',
      'StepFailedError',
    ]);
  });

  it('names step and sequence in a StepFailedError and keeps the cause', () => {
    const cause = new Error('disk full');
    const error = new StepFailedError('extract', '2026-11-22', 'Error: disk full', { cause });
    expect(error.message).toMatch(/"extract"/);
    expect(error.message).toMatch(/"2026-11-22"/);
    expect(error.message).toMatch(/disk full/);
    expect(error.cause).toBe(cause);
    expect(error.step).toBe('extract');
    expect(error.sequence).toBe('2026-11-22');
  });
});

describe('new Eventor options', () => {
  const cases: Array<[string, unknown, RegExp[]]> = [
    ['options that are not an object', 5, [/options must be an object/, /5/]],
    ['an unknown option', { stroe: 'x.db' }, [/Unknown Eventor option "stroe"/, /store/]],
    ['an empty name', { name: '' }, [/"name"/]],
    ['an unknown runMode', { runMode: 'resume' }, [/"runMode"/, /"resume"/, /restart, recover, continue/]],
    ['an empty runId', { runId: '' }, [/"runId"/]],
    ['a runId that is not a string', { runId: 42 }, [/"runId"/, /42/]],
    ['an unknown logLevel', { logLevel: 'verbose' }, [/"logLevel"/, /"verbose"/]],
    ['config that is not an object', { config: 'fast' }, [/"config"/, /"fast"/]],
    ['an unknown config option', { config: { maxConcurent: 2 } }, [/"maxConcurent"/, /maxConcurrent/]],
    ['a fractional maxConcurrent', { config: { maxConcurrent: 1.5 } }, [/maxConcurrent/, /1\.5/]],
    ['a non-boolean stopOnException', { config: { stopOnException: 'yes' } }, [/stopOnException/, /"yes"/]],
    ['an unknown taskConstruct', { config: { taskConstruct: 'thread' } }, [/taskConstruct/, /"thread"/]],
    [
      'an envPrefix that is not an env var name',
      { config: { envPrefix: 'my-prefix' } },
      [/envPrefix/, /"my-prefix"/],
    ],
    ['an empty store path', { store: '' }, [/"store"/]],
    ["recover on ':memory:'", { store: ':memory:', runMode: 'recover' }, [/:memory:/, /recover/]],
    ["continue on ':memory:'", { store: ':memory:', runMode: 'continue' }, [/:memory:/, /continue/]],
  ];

  it.each(cases)('throws FlowConfigError for %s', (_label, options, patterns) => {
    const box = sandbox();
    const given =
      typeof options === 'object' && options !== null && !('store' in options)
        ? { store: box.store, ...options }
        : options;
    expectFlowError(() => box.track(new Eventor(given as EventorOptions)), FlowConfigError, ...patterns);
  });
});

describe('addEvent definitions', () => {
  it('throws FlowDefinitionError for an empty or non-string name', () => {
    const box = sandbox();
    const { ev } = flow(box);
    expectFlowError(() => ev.addEvent(''), FlowDefinitionError, /Event name/);
    expectFlowError(() => ev.addEvent(42 as never), FlowDefinitionError, /Event name/, /42/);
  });

  it('throws FlowDefinitionError naming the event when its expression holds something that is not an event', () => {
    const box = sandbox();
    const { ev, go } = flow(box);
    expectFlowError(
      () => ev.addEvent('bad', { expr: ['go' as never] }),
      FlowDefinitionError,
      /"bad"/,
      /"go"/,
    );
    expectFlowError(
      () => ev.addEvent('bad', { expr: or(go, 7 as never) }),
      FlowDefinitionError,
      /"bad"/,
      /7/,
    );
  });

  it('throws FlowDefinitionError for an empty list, and() or or()', () => {
    const box = sandbox();
    const { ev } = flow(box);
    expectFlowError(
      () => ev.addEvent('empty_list', { expr: [] }),
      FlowDefinitionError,
      /"empty_list"/,
      /empty/,
    );
    expectFlowError(
      () => ev.addEvent('empty_and', { expr: and() }),
      FlowDefinitionError,
      /"empty_and"/,
      /empty/,
    );
    expectFlowError(
      () => ev.addEvent('empty_or', { expr: or() }),
      FlowDefinitionError,
      /"empty_or"/,
      /empty/,
    );
  });

  it('throws FlowDefinitionError when an expression uses an event of another Eventor', () => {
    const box = sandbox();
    const { ev } = flow(box);
    const other = box.eventor({ runId: 'other' });
    const foreign = other.addEvent('foreign');
    expectFlowError(
      () => ev.addEvent('mixed', { expr: [foreign] }),
      FlowDefinitionError,
      /"foreign"/,
      /another Eventor/,
    );
  });

  it('throws FlowDefinitionError naming the event when it is redefined with another expression', () => {
    const box = sandbox();
    const { ev, go } = flow(box);
    const other = ev.addEvent('other');
    ev.addEvent('both', { expr: [go, other] });
    expectFlowError(
      () => ev.addEvent('both', { expr: or(go, other) }),
      FlowDefinitionError,
      /"both"/,
      /different expression/,
    );
  });
});

describe('addStep definitions', () => {
  const pool = new ResourcePool('db', { limit: 2 });
  const definitionCases: Array<[string, (box: Sandbox, ev: Eventor) => StepOptions, RegExp[]]> = [
    ['an unknown option', () => ({ fn: () => 1 }) as never, [/"bad"/, /unknown option "fn"/, /func/]],
    [
      'a func that is not callable',
      () => ({ func: 'square' as never }),
      [/"bad"/, /func must be a function/, /"square"/],
    ],
    [
      'args that are not an array',
      () => ({ func: () => 1, args: 3 as never }),
      [/"bad"/, /args must be an array/],
    ],
    [
      'func and command together',
      () => ({ func: () => 1, command: ['ls'] }) as never,
      [/"bad"/, /func and command/],
    ],
    ['export without a module', () => ({ export: 'run' }) as never, [/"bad"/, /export/]],
    ['an empty command', () => ({ command: [] }), [/"bad"/, /command/]],
    [
      'a trigger status that does not exist',
      (_box, ev) => ({ triggers: { done: ev.addEvent('x') } as never }),
      [/"bad"/, /unknown status "done"/],
    ],
    [
      'a trigger that is not an event',
      () => ({ triggers: { success: ['next'] as never } }),
      [/"bad"/, /"next"/],
    ],
    [
      'a trigger event of another Eventor',
      (box) => ({ triggers: { success: box.eventor({ runId: 'other' }).addEvent('foreign') } }),
      [/"foreign"/, /another Eventor/],
    ],
    [
      'acquires that is not a list',
      () => ({ acquires: pool as never }),
      [/"bad"/, /acquires must be a list/],
    ],
    [
      'an acquires item that is not [pool, amount]',
      () => ({ acquires: [['db', 1]] as never }),
      [/"bad"/, /\[ResourcePool, amount\]/],
    ],
    ['a negative amount', () => ({ acquires: [[pool, -1]] }), [/"bad"/, /"db"/, /whole number/]],
    [
      'acquiring more than the pool limit',
      () => ({ acquires: [[pool, 3]] }),
      [/"bad"/, /"db"/, /limit is 2/],
    ],
    [
      'releases that is not a list',
      () => ({ releases: 'all' as never }),
      [/"bad"/, /releases must be a list/],
    ],
    [
      'a recovery replay that does not exist',
      () => ({ recovery: { success: 'again' as never } }),
      [/"bad"/, /'rerun' or 'skip'/, /"again"/],
    ],
    [
      'a recovery status that does not exist',
      () => ({ recovery: { done: 'skip' } as never }),
      [/"bad"/, /unknown status "done"/],
    ],
    [
      'a func with taskConstruct worker (closures cannot cross threads)',
      () => ({ func: function crunch() {}, config: { taskConstruct: 'worker' } }),
      [/"bad"/, /module/, /crunch/],
    ],
  ];

  it.each(definitionCases)('throws FlowDefinitionError for %s', (_label, options, patterns) => {
    const box = sandbox();
    const { ev } = flow(box);
    const given = options(box, ev);
    expectFlowError(() => ev.addStep('bad', given), FlowDefinitionError, ...patterns);
  });

  const configCases: Array<[string, StepOptions['config'], RegExp[]]> = [
    ['an unknown config option', { retry: 2 } as never, [/"bad"/, /unknown config option "retry"/]],
    ['a non-boolean stopOnException', { stopOnException: 1 as never }, [/"bad"/, /stopOnException/]],
    ['a fractional maxConcurrent', { maxConcurrent: 0.5 }, [/"bad"/, /maxConcurrent/, /0\.5/]],
    ['an unknown taskConstruct', { taskConstruct: 'fork' as never }, [/"bad"/, /taskConstruct/, /"fork"/]],
    ['a duration without a unit it knows', { timeout: '5 minutes' }, [/timeout/, /"5 minutes"/, /'250ms'/]],
    ['a negative duration', { backoff: -1 }, [/backoff/, /-1/]],
  ];

  it.each(configCases)('throws FlowConfigError for %s', (_label, config, patterns) => {
    const box = sandbox();
    const { ev } = flow(box);
    expectFlowError(
      () => ev.addStep('bad', { func: () => 1, ...(config ? { config } : {}) }),
      FlowConfigError,
      ...patterns,
    );
  });

  it('throws FlowDefinitionError for an empty or non-string name', () => {
    const box = sandbox();
    const { ev } = flow(box);
    expectFlowError(() => ev.addStep(''), FlowDefinitionError, /Step name/);
    expectFlowError(() => ev.addStep(null as never), FlowDefinitionError, /Step name/);
  });

  it('throws FlowDefinitionError naming the step when it is defined twice', () => {
    const box = sandbox();
    const { ev } = flow(box);
    expectFlowError(() => ev.addStep('s1'), FlowDefinitionError, /Step "s1" is already defined/);
  });
});

describe('addAssoc definitions', () => {
  it('throws FlowDefinitionError when the source is not an event', () => {
    const box = sandbox();
    const { ev, s1 } = flow(box);
    expectFlowError(() => ev.addAssoc('go' as never, s1), FlowDefinitionError, /addAssoc/, /"go"/);
    expectFlowError(() => ev.addAssoc(s1 as never, s1), FlowDefinitionError, /addAssoc/, /expected an event/);
  });

  it('throws FlowDefinitionError for an unknown target', () => {
    const box = sandbox();
    const { ev, go } = flow(box);
    expectFlowError(
      () => ev.addAssoc(go, { kind: 'step', name: 'ghost' } as never),
      FlowDefinitionError,
      /"go"/,
      /steps from addStep\(\) or events from addEvent\(\)/,
      /ghost/,
    );
    expectFlowError(() => ev.addAssoc(go, 's1' as never), FlowDefinitionError, /"go"/, /"s1"/);
  });

  it('throws FlowDefinitionError for an empty target list', () => {
    const box = sandbox();
    const { ev, go } = flow(box);
    expectFlowError(() => ev.addAssoc(go, []), FlowDefinitionError, /"go"/, /at least one/);
  });

  it('throws FlowDefinitionError for a source or target of another Eventor', () => {
    const box = sandbox();
    const { ev, go, s1 } = flow(box);
    const other = box.eventor({ runId: 'other' });
    const foreignEvent = other.addEvent('foreign_event');
    const foreignStep = other.addStep('foreign_step');
    expectFlowError(
      () => ev.addAssoc(foreignEvent, s1),
      FlowDefinitionError,
      /"foreign_event"/,
      /another Eventor/,
    );
    expectFlowError(
      () => ev.addAssoc(go, foreignStep),
      FlowDefinitionError,
      /"foreign_step"/,
      /another Eventor/,
    );
    expectFlowError(
      () => ev.addAssoc(go, [s1, foreignEvent]),
      FlowDefinitionError,
      /"foreign_event"/,
      /another Eventor/,
    );
  });

  it.each([
    ['a duration with an unknown unit', '10 minutes', /"10 minutes"/],
    ['a negative number', -5, /-5/],
    ['NaN', Number.NaN, /NaN/],
    ['an unknown unit suffix', '1.5x', /"1\.5x"/],
    ['an object', { seconds: 10 }, /seconds/],
  ])(
    'throws FlowConfigError naming the event, the option and the value for a bad delay: %s',
    (_label, delay, value) => {
      const box = sandbox();
      const { ev, go, s1 } = flow(box);
      expectFlowError(
        () => ev.addAssoc(go, s1, { delay: delay as never }),
        FlowConfigError,
        /delay/,
        /\bgo\b/,
        value,
      );
    },
  );
});

describe('triggerEvent arguments', () => {
  it('throws FlowDefinitionError for something that is not an event', () => {
    const box = sandbox();
    const { ev } = flow(box);
    expectFlowError(() => ev.triggerEvent('go' as never, 1), FlowDefinitionError, /triggerEvent/, /"go"/);
  });

  it.each([
    ['an empty string', ''],
    ['NaN', Number.NaN],
    ['an object', { id: 1 }],
  ])('throws FlowDefinitionError for a sequence that is %s', (_label, sequence) => {
    const box = sandbox();
    const { ev, go } = flow(box);
    expectFlowError(() => ev.triggerEvent(go, sequence as never), FlowDefinitionError, /sequence/);
  });
});

describe('run and lifecycle', () => {
  it('throws FlowConfigError for a fractional maxLoops', async () => {
    const box = sandbox();
    const { ev } = flow(box);
    await expect(ev.run({ maxLoops: 1.5 })).rejects.toThrow(FlowConfigError);
    await expect(ev.run({ maxLoops: 1.5 })).rejects.toThrow(/maxLoops/);
  });

  it('throws FlowConfigError for any call after close(), and close() is idempotent', async () => {
    const box = sandbox();
    const { ev, go } = flow(box);
    ev.close();
    ev.close();
    expectFlowError(() => ev.addEvent('late'), FlowConfigError, /closed/);
    expectFlowError(() => ev.triggerEvent(go, 1), FlowConfigError, /closed/);
    expectFlowError(() => ev.pending(), FlowConfigError, /closed/);
    expectFlowError(() => ev.tasks(), FlowConfigError, /closed/);
    await expect(ev.run()).rejects.toThrow(/closed/);
  });
});

describe('ResourcePool options', () => {
  it('throws FlowConfigError for an empty name or a fractional limit', () => {
    expectFlowError(() => new ResourcePool(''), FlowConfigError, /name/);
    expectFlowError(() => new ResourcePool('db', { limit: 1.5 }), FlowConfigError, /"db"/, /limit/, /1\.5/);
  });
});

describe('parseDuration', () => {
  it.each([
    [250, 250],
    ['250ms', 250],
    ['1.5s', 1500],
    ['10m', 600_000],
    ['6h', 21_600_000],
    ['1d', 86_400_000],
    [0, 0],
  ])('reads %s as %s ms', (input, ms) => {
    expect(parseDuration(input, 'delay')).toBe(ms);
  });

  it('throws FlowConfigError naming the option and the value', () => {
    expectFlowError(() => parseDuration('soon', 'timeout'), FlowConfigError, /"timeout"/, /"soon"/);
    expectFlowError(() => parseDuration(Number.POSITIVE_INFINITY, 'delay'), FlowConfigError, /"delay"/);
  });
});
