import { describe, expect, it, vi } from 'vitest';
import {
  type Event,
  EvprocError,
  type Logger,
  NamedEvent,
  Processor,
  RequirementsError,
  ReregisterError,
  requiredBy,
  requires,
  StopProcessing,
  want,
} from '../src/index.js';

function recordingLogger() {
  const lines: { level: string; obj: unknown; msg?: string }[] = [];
  const at =
    (level: string) =>
    (obj: object | string, msg?: string): void => {
      lines.push({ level, obj, msg });
    };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('Processor.register', () => {
  it('uses the function name, or the name given', () => {
    const proc = new Processor();
    proc.register(function alpha() {});
    proc.register(() => {}, 'beta');
    const gamma = () => {};
    proc.register(gamma);
    expect(proc.order('x')).toEqual(['alpha', 'beta', 'gamma']);
  });

  it('throws EvprocError for an anonymous function without a name', () => {
    const proc = new Processor();
    const err = catchError(() => proc.register((() => () => {})()));
    expect(err).toBeInstanceOf(EvprocError);
    expect((err as EvprocError).code).toBe('EVPROC_ANONYMOUS_HANDLER');
    expect((err as Error).message).toMatch(/anonymous function.*proc\.register\(fn, 'audit_log'\)/);
  });

  it('throws ReregisterError naming the handler when the name is taken', () => {
    const proc = new Processor();
    proc.register(function alpha() {});
    const err = catchError(() => proc.register(() => {}, 'alpha'));
    expect(err).toBeInstanceOf(ReregisterError);
    expect(err).toBeInstanceOf(EvprocError);
    expect((err as ReregisterError).handler).toBe('alpha');
    expect((err as ReregisterError).code).toBe('EVPROC_REREGISTER');
    expect((err as Error).message).toMatch(/"alpha" is already registered.*unregister\('alpha'\)/);
  });

  it('throws TypeError for a non-function or a bad name', () => {
    const proc = new Processor();
    expect(() => proc.register(42 as never)).toThrow(/takes a handler function, got 42/);
    expect(() => proc.register(() => {}, '')).toThrow(TypeError);
  });

  it('reads the metadata at registration: wrapping later changes nothing', () => {
    const proc = new Processor();
    const h = function h() {};
    proc.register(h);
    want('other')(h);
    expect(proc.order('ev1')).toEqual(['h']);
  });
});

describe('Processor.unregister', () => {
  it('returns true only if the handler was registered, and it stops running', () => {
    const proc = new Processor();
    const calls: string[] = [];
    proc.register(function a() {
      calls.push('a');
    });
    proc.processSync(new NamedEvent('x'));
    expect(proc.unregister('a')).toBe(true);
    expect(proc.unregister('a')).toBe(false);
    proc.processSync(new NamedEvent('x'));
    expect(calls).toEqual(['a']);
    expect(proc.order('x')).toEqual([]);
  });
});

describe('selection by want', () => {
  it('runs a handler without want for every event', () => {
    const proc = new Processor();
    const seen: string[] = [];
    proc.register(function all(_p, ev) {
      seen.push(ev.name);
    });
    proc.processSync(new NamedEvent('a'));
    proc.processSync(new NamedEvent('b'));
    expect(seen).toEqual(['a', 'b']);
  });

  it('needs every predicate of a set (AND), checked in order and stopping at the first false', () => {
    const proc = new Processor();
    const checked: string[] = [];
    const ran: string[] = [];
    const p1 = (ev: Event) => {
      checked.push(`p1:${ev.ctxt}`);
      return ev.ctxt !== 'stop-at-1';
    };
    const p2 = (ev: Event) => {
      checked.push(`p2:${ev.ctxt}`);
      return ev.ctxt === 'ok';
    };
    proc.register(
      want(
        'ev',
        p1,
        p2,
      )(function h(_p, ev) {
        ran.push(String(ev.ctxt));
      }),
    );
    proc.processSync(new NamedEvent('ev', 'ok'));
    proc.processSync(new NamedEvent('ev', 'stop-at-1'));
    proc.processSync(new NamedEvent('ev', 'other'));
    proc.processSync(new NamedEvent('not-ev', 'ok'));
    expect(ran).toEqual(['ok']);
    expect(checked).toEqual(['p1:ok', 'p2:ok', 'p1:stop-at-1', 'p1:other', 'p2:other']);
  });

  it('matches any name of a set, and any set (OR); a predicate-only set matches any name', () => {
    const proc = new Processor();
    const ran: string[] = [];
    proc.register(
      want(
        'a',
        'b',
      )(
        want((ev) => ev.ctxt === 'special')(function h(_p, ev) {
          ran.push(ev.name);
        }),
      ),
    );
    for (const ev of [
      new NamedEvent('a'),
      new NamedEvent('b'),
      new NamedEvent('c'),
      new NamedEvent('c', 'special'),
    ]) {
      proc.processSync(ev);
    }
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(proc.order('zzz')).toEqual(['h']);
  });

  it('lists only handlers whose names can match in order()', () => {
    const proc = new Processor();
    proc.register(want('a')(function onlyA() {}));
    proc.register(function any() {});
    proc.register(want('b', () => true)(function onlyB() {}));
    expect(proc.order('a')).toEqual(['onlyA', 'any']);
    expect(proc.order('b')).toEqual(['any', 'onlyB']);
  });
});

describe('ordering', () => {
  const prepare = () =>
    function test_prepare(_p: Processor, ev: Event) {
      ev.proc.tests.args = [1, 2];
      ev.proc.tests.log.push('test_prepare');
    };
  const run = () =>
    requires('test_prepare')(function test_run(_p: Processor, ev: Event) {
      ev.proc.tests.log.push(`test_run args=${ev.proc.tests.args} aux=${ev.proc.tests.auxiliary}`);
    });
  const auxiliary = () =>
    requiredBy('test_run')(
      requires('test_prepare')(function test_auxiliary(_p: Processor, ev: Event) {
        ev.proc.tests.auxiliary = 'done';
        ev.proc.tests.log.push('test_auxiliary');
      }),
    );

  // The README example of the original library, in every registration order.
  for (const perm of [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
  ]) {
    it(`runs test_prepare, test_auxiliary, test_run when registered as ${perm.join(',')}`, () => {
      const makers = [prepare, run, auxiliary];
      const proc = new Processor();
      for (const i of perm) proc.register(makers[i]!());
      const ev = new NamedEvent('ev1');
      const log: string[] = [];
      // A first handler seeds the log; it must not disturb the order of the others.
      proc.register(
        requiredBy('test_prepare')(function seed(_p: Processor, e: Event) {
          e.proc.tests.log = log;
        }),
      );
      expect(proc.order('ev1')).toEqual(['seed', 'test_prepare', 'test_auxiliary', 'test_run']);
      proc.processSync(ev);
      expect(log).toEqual(['test_prepare', 'test_auxiliary', 'test_run args=1,2 aux=done']);
    });
  }

  it('keeps registration order for ties', () => {
    const proc = new Processor();
    proc.register(function a() {});
    proc.register(function b() {});
    proc.register(requiredBy('a', 'b')(function c() {}));
    proc.register(function d() {});
    // c must precede a and b; a and b keep their order; d (unconstrained) stays after them.
    expect(proc.order('x')).toEqual(['c', 'a', 'b', 'd']);
  });

  it('picks the earliest-registered ready handler at each step', () => {
    const proc = new Processor();
    proc.register(requires('e')(function a() {}));
    proc.register(function b() {});
    proc.register(requires('a')(function c() {}));
    proc.register(function d() {});
    proc.register(function e() {});
    expect(proc.order('x')).toEqual(['b', 'd', 'e', 'a', 'c']);
  });

  it('ignores requiredBy on a handler that is absent for this event', () => {
    const proc = new Processor();
    proc.register(requiredBy('ghost')(function a() {}));
    proc.register(want('other')(function onlyOther() {}));
    proc.register(requiredBy('onlyOther')(function b() {}));
    expect(proc.order('x')).toEqual(['a', 'b']);
  });

  it('throws RequirementsError with the cycle for two handlers', () => {
    const proc = new Processor();
    proc.register(requires('b')(function a() {}));
    proc.register(requires('a')(function b() {}));
    const err = catchError(() => proc.order('x')) as RequirementsError;
    expect(err).toBeInstanceOf(RequirementsError);
    expect(err).toBeInstanceOf(EvprocError);
    expect(err.cycle).toEqual(['a', 'b', 'a']);
    expect(err.missing).toEqual([]);
    expect(err.event).toBe('x');
    expect(err.message).toContain('requirement cycle a -> b -> a');
    expect(err.code).toBe('EVPROC_REQUIREMENTS_CYCLE');
  });

  it('throws RequirementsError with the cycle for three handlers, requiredBy included', () => {
    const proc = new Processor();
    proc.register(function free() {});
    // "a requiredBy c" means c requires a: closes a -> b -> c -> a.
    proc.register(requiredBy('c')(requires('b')(function a() {})));
    proc.register(requires('c')(function b() {}));
    proc.register(function c() {});
    const err = catchError(() => proc.processSync(new NamedEvent('x'))) as RequirementsError;
    expect(err).toBeInstanceOf(RequirementsError);
    expect(err.cycle).toEqual(['a', 'b', 'c', 'a']);
    expect(err.message).toMatch(
      /a -> b -> c -> a.*Remove one of the requires\/requiredBy between "a", "b", "c"/,
    );
    // Without the requiredBy there is no cycle.
    proc.unregister('a');
    proc.register(requires('b')(function a() {}));
    expect(proc.order('x')).toEqual(['free', 'c', 'b', 'a']);
  });

  it('throws RequirementsError with .missing for a requirement that is not registered', () => {
    const proc = new Processor();
    proc.register(requires('ghost')(function a() {}));
    const err = catchError(() => proc.order('x')) as RequirementsError;
    expect(err).toBeInstanceOf(RequirementsError);
    expect(err.missing).toEqual(['ghost']);
    expect(err.cycle).toEqual([]);
    expect(err.details).toEqual([{ handler: 'a', requires: 'ghost', reason: 'unregistered' }]);
    expect(err.message).toMatch(/"a" requires "ghost", which is not registered/);
  });

  it('throws RequirementsError when the required handler does not want the event name', () => {
    const proc = new Processor();
    proc.register(want('other')(function base() {}));
    proc.register(requires('base')(function dependent() {}));
    expect(proc.order('other')).toEqual(['base', 'dependent']);
    const err = catchError(() => proc.order('x')) as RequirementsError;
    expect(err.details).toEqual([{ handler: 'dependent', requires: 'base', reason: 'unselected' }]);
    expect(err.message).toMatch(/"dependent" requires "base", which does not want "x" events/);
  });

  it('throws before any handler of the event runs', async () => {
    const proc = new Processor();
    const ran: string[] = [];
    proc.register(function first() {
      ran.push('first');
    });
    proc.register(requires('ghost')(function later() {}));
    expect(() => proc.processSync(new NamedEvent('x'))).toThrow(RequirementsError);
    await expect(proc.process(new NamedEvent('x'))).rejects.toThrow(RequirementsError);
    expect(ran).toEqual([]);
  });

  it('throws RequirementsError when a required handler turns this event down by predicate', async () => {
    const proc = new Processor();
    const ran: string[] = [];
    proc.register(
      want(
        'x',
        (ev) => ev.ctxt === 'ok',
      )(function gate() {
        ran.push('gate');
      }),
    );
    proc.register(
      requires('gate')(function after() {
        ran.push('after');
      }),
    );
    proc.processSync(new NamedEvent('x', 'ok'));
    expect(ran).toEqual(['gate', 'after']);
    const err = catchError(() => proc.processSync(new NamedEvent('x', 'no'))) as RequirementsError;
    expect(err).toBeInstanceOf(RequirementsError);
    expect(err.details).toEqual([{ handler: 'after', requires: 'gate', reason: 'unselected' }]);
    expect(err.message).toMatch(
      /"after" requires "gate", whose want\(\.\.\.\) predicates turned this event down/,
    );
    await expect(proc.process(new NamedEvent('x', 'no'))).rejects.toThrow(RequirementsError);
    expect(ran).toEqual(['gate', 'after']);
  });

  it('runs neither when both the dependent and its requirement are turned down by predicate', () => {
    const proc = new Processor();
    const ok = (ev: Event) => ev.ctxt === 'ok';
    const ran: string[] = [];
    proc.register(
      want(
        'x',
        ok,
      )(function gate() {
        ran.push('gate');
      }),
    );
    proc.register(
      requires('gate')(
        want(
          'x',
          ok,
        )(function after() {
          ran.push('after');
        }),
      ),
    );
    proc.processSync(new NamedEvent('x', 'no'));
    expect(ran).toEqual([]);
  });

  it('computes the plan once per name and again after register/unregister', () => {
    const { logger, lines } = recordingLogger();
    const proc = new Processor({ logger });
    proc.register(function a() {});
    const plans = () => lines.filter((l) => l.msg?.startsWith('planned handlers')).length;
    proc.processSync(new NamedEvent('x'));
    proc.processSync(new NamedEvent('x'));
    proc.order('x');
    expect(plans()).toBe(1);
    proc.processSync(new NamedEvent('y'));
    expect(plans()).toBe(2);
    proc.register(function b() {});
    proc.processSync(new NamedEvent('x'));
    expect(plans()).toBe(3);
    proc.unregister('b');
    proc.processSync(new NamedEvent('x'));
    expect(plans()).toBe(4);
  });
});

describe('follow-up events', () => {
  it('are processed breadth first: 0 -> [1, 3], 1 -> [2, 3], 2 -> [4] gives 0, 1, 3, 2, 3, 4', async () => {
    const children: Record<string, string[]> = { '0': ['1', '3'], '1': ['2', '3'], '2': ['4'] };
    for (const mode of ['sync', 'async'] as const) {
      const proc = new Processor();
      const seen: string[] = [];
      proc.register(function expand(_p, ev) {
        seen.push(ev.name);
        return (children[ev.name] ?? []).map((n) => new NamedEvent(n));
      });
      const result =
        mode === 'sync' ? proc.processSync(new NamedEvent('0')) : await proc.process(new NamedEvent('0'));
      expect(result).toBeUndefined();
      expect(seen).toEqual(['0', '1', '3', '2', '3', '4']);
    }
  });

  it('accepts any iterable, such as a generator', () => {
    const proc = new Processor();
    const seen: string[] = [];
    proc.register(function gen(_p, ev) {
      seen.push(ev.name);
      if (ev.name !== 'root') return undefined;
      return (function* () {
        yield new NamedEvent('a');
        yield new NamedEvent('b');
      })();
    });
    proc.processSync(new NamedEvent('root'));
    expect(seen).toEqual(['root', 'a', 'b']);
  });

  it('rejects a result that is not an iterable of events, naming the handler', () => {
    const proc = new Processor();
    proc.register(function bad() {
      return 42 as never;
    });
    expect(() => proc.processSync(new NamedEvent('x'))).toThrow(/handler "bad" returned 42/);
    const proc2 = new Processor();
    proc2.register(function bad2() {
      return ['oops'] as never;
    });
    expect(() => proc2.processSync(new NamedEvent('x'))).toThrow(/handler "bad2" returned "oops" among/);
  });

  it('rejects a string, a number or a plain object as a result, in process() and processSync(), saying to return an array', async () => {
    for (const value of ['next', '', 7, { name: 'next' }]) {
      for (const mode of ['sync', 'async'] as const) {
        const followed: string[] = [];
        const proc = new Processor();
        proc.register(function stringy(_p, ev) {
          followed.push(ev.name);
          return (mode === 'async' ? Promise.resolve(value) : value) as never;
        });
        const run = () =>
          mode === 'sync' ? proc.processSync(new NamedEvent('start')) : proc.process(new NamedEvent('start'));
        const err = await Promise.resolve()
          .then(run)
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err, `${mode} ${JSON.stringify(value)}`).toBeInstanceOf(EvprocError);
        expect((err as EvprocError).code).toBe('EVPROC_BAD_RESULT');
        expect((err as Error).message).toContain(
          `handler "stringy" returned ${typeof value === 'string' ? JSON.stringify(value) : typeof value === 'number' ? value : 'object [object Object]'} for event "start"`,
        );
        expect((err as Error).message).toMatch(/return an array \(or another iterable\) of follow-up events/);
        // Nothing was taken from the value as a follow-up event (no event per character).
        expect(followed).toEqual(['start']);
      }
    }
  });
});

describe('StopProcessing', () => {
  function setup() {
    const proc = new Processor();
    const seen: string[] = [];
    proc.register(function first(_p, ev) {
      seen.push(`first:${ev.name}`);
      if (ev.name === 'root') return [new NamedEvent('queued')];
      return undefined;
    });
    proc.register(function stopper(_p, ev) {
      seen.push(`stopper:${ev.name}`);
      if (ev.name === 'root') {
        if (ev.ctxt === 'no-value') throw new StopProcessing();
        if (ev.ctxt === 'value') throw new StopProcessing('halted');
        if (ev.ctxt === 'undefined') throw new StopProcessing(undefined);
      }
    });
    proc.register(function last(_p, ev) {
      seen.push(`last:${ev.name}`);
    });
    return { proc, seen };
  }

  for (const mode of ['sync', 'async'] as const) {
    const run = (proc: Processor, ev: Event) => (mode === 'sync' ? proc.processSync(ev) : proc.process(ev));

    it(`without a value stops this event's handlers only; queued events still run (${mode})`, async () => {
      const { proc, seen } = setup();
      expect(await run(proc, new NamedEvent('root', 'no-value'))).toBeUndefined();
      expect(seen).toEqual(['first:root', 'stopper:root', 'first:queued', 'stopper:queued', 'last:queued']);
    });

    it(`with a value returns it at once and drops the queue (${mode})`, async () => {
      const { proc, seen } = setup();
      expect(await run(proc, new NamedEvent('root', 'value'))).toBe('halted');
      expect(seen).toEqual(['first:root', 'stopper:root']);
    });

    it(`with undefined passed explicitly also returns at once and drops the queue (${mode})`, async () => {
      const { proc, seen } = setup();
      expect(await run(proc, new NamedEvent('root', 'undefined'))).toBeUndefined();
      expect(seen).toEqual(['first:root', 'stopper:root']);
    });
  }

  it('tells the cases apart with hasValue', () => {
    expect(new StopProcessing().hasValue).toBe(false);
    expect(new StopProcessing(undefined).hasValue).toBe(true);
    expect(new StopProcessing(0).value).toBe(0);
  });

  it('works from an async handler', async () => {
    const proc = new Processor();
    proc.register(async function stop() {
      await Promise.resolve();
      throw new StopProcessing(7);
    });
    expect(await proc.process(new NamedEvent('x'))).toBe(7);
  });
});

describe('onError', () => {
  function setup(onError?: 'stop' | 'continue' | 'collect') {
    const { logger, lines } = recordingLogger();
    const proc = new Processor(onError ? { logger, onError } : { logger });
    const seen: string[] = [];
    const boom = new Error('boom');
    proc.register(function a(_p, ev) {
      seen.push(`a:${ev.name}`);
      if (ev.name === 'root') return [new NamedEvent('next')];
      return undefined;
    });
    proc.register(function broken(_p, ev) {
      seen.push(`broken:${ev.name}`);
      throw boom;
    });
    proc.register(function c(_p, ev) {
      seen.push(`c:${ev.name}`);
    });
    return { proc, seen, lines, boom };
  }

  it("'stop' (the default) rethrows the handler's error at once", async () => {
    for (const mode of [undefined, 'stop'] as const) {
      const { proc, seen, boom } = setup(mode);
      expect(catchError(() => proc.processSync(new NamedEvent('root')))).toBe(boom);
      expect(seen).toEqual(['a:root', 'broken:root']);
      await expect(proc.process(new NamedEvent('root'))).rejects.toBe(boom);
    }
  });

  it("'continue' logs the error with the handler name and goes on", async () => {
    const { proc, seen, lines, boom } = setup('continue');
    expect(proc.processSync(new NamedEvent('root'))).toBeUndefined();
    expect(seen).toEqual(['a:root', 'broken:root', 'c:root', 'a:next', 'broken:next', 'c:next']);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]!.obj).toEqual({ err: boom, handler: 'broken', event: 'root' });
    expect(errors[0]!.msg).toMatch(/handler "broken" failed on event "root"/);
    expect(await proc.process(new NamedEvent('root'))).toBeUndefined();
  });

  it("'collect' goes on and throws an AggregateError at the end", async () => {
    const { proc, seen, boom } = setup('collect');
    const err = catchError(() => proc.processSync(new NamedEvent('root'))) as AggregateError;
    expect(err).toBeInstanceOf(AggregateError);
    expect(seen).toEqual(['a:root', 'broken:root', 'c:root', 'a:next', 'broken:next', 'c:next']);
    expect(err.errors).toHaveLength(2);
    expect(err.errors[0]).toBeInstanceOf(EvprocError);
    expect((err.errors[0] as Error).cause).toBe(boom);
    expect(err.message).toMatch(/2 handler failure\(s\).*handler "broken" failed on event "next"/);
    await expect(proc.process(new NamedEvent('root'))).rejects.toBeInstanceOf(AggregateError);
  });

  it("'collect' still throws the collected errors when StopProcessing(value) ends the run", () => {
    const proc = new Processor({ onError: 'collect' });
    proc.register(function broken() {
      throw new Error('boom');
    });
    proc.register(function stop() {
      throw new StopProcessing('v');
    });
    expect(() => proc.processSync(new NamedEvent('x'))).toThrow(AggregateError);
  });

  it('applies to a predicate that throws: that handler does not run', () => {
    const { logger, lines } = recordingLogger();
    const proc = new Processor({ logger, onError: 'continue' });
    const ran: string[] = [];
    proc.register(
      want('x', () => {
        throw new Error('bad predicate');
      })(function picky() {
        ran.push('picky');
      }),
    );
    proc.register(function other() {
      ran.push('other');
    });
    proc.processSync(new NamedEvent('x'));
    expect(ran).toEqual(['other']);
    expect(lines.filter((l) => l.level === 'error')[0]!.obj).toMatchObject({ handler: 'picky' });
    const strict = new Processor();
    strict.register(
      want(() => {
        throw new Error('bad predicate');
      })(function picky() {}),
    );
    expect(() => strict.processSync(new NamedEvent('x'))).toThrow('bad predicate');
  });

  it('skips the handlers that require, directly or in turn, one whose predicate threw', () => {
    const proc = new Processor({ onError: 'collect' });
    const ran: string[] = [];
    proc.register(
      want('x', () => {
        throw new Error('bad predicate');
      })(function base() {
        ran.push('base');
      }),
    );
    proc.register(
      requires('base')(function mid() {
        ran.push('mid');
      }),
    );
    proc.register(
      requires('mid')(function top() {
        ran.push('top');
      }),
    );
    proc.register(function free() {
      ran.push('free');
    });
    const err = catchError(() => proc.processSync(new NamedEvent('x'))) as AggregateError;
    expect(err).toBeInstanceOf(AggregateError);
    expect(err.errors).toHaveLength(1);
    expect(((err.errors[0] as Error).cause as Error).message).toBe('bad predicate');
    expect(ran).toEqual(['free']);
  });

  it('rejects an unknown policy with a TypeError', () => {
    expect(() => new Processor({ onError: 'ignore' as never })).toThrow(
      /'stop', 'continue' or 'collect', got "ignore"/,
    );
  });

  it('logs nothing and needs no logger by default', () => {
    const spy = vi.spyOn(console, 'error');
    const proc = new Processor({ onError: 'continue' });
    proc.register(function broken() {
      throw new Error('x');
    });
    proc.processSync(new NamedEvent('x'));
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });
});

describe('async and sync processing', () => {
  it('process awaits handlers that return promises, in order', async () => {
    const proc = new Processor();
    const seen: string[] = [];
    proc.register(async function slow(_p, ev) {
      await new Promise((r) => setTimeout(r, 5));
      seen.push('slow');
      return ev.name === 'x' ? [new NamedEvent('next')] : [];
    });
    proc.register(function fast(_p, ev) {
      seen.push(`fast:${ev.name}`);
    });
    await proc.process(new NamedEvent('x'));
    expect(seen).toEqual(['slow', 'fast:x', 'slow', 'fast:next']);
  });

  it('process runs synchronous handlers without waiting a tick between them', async () => {
    const proc = new Processor();
    const seen: string[] = [];
    proc.register(function a(_p, ev) {
      seen.push('a');
      return ev.name === 'x' ? [new NamedEvent('next')] : undefined;
    });
    proc.register(function b() {
      seen.push('b');
    });
    const pending = proc.process(new NamedEvent('x'));
    // All handlers of both events already ran before the promise is awaited.
    expect(seen).toEqual(['a', 'b', 'a', 'b']);
    await pending;
  });

  it('processSync throws EvprocError naming the handler when one returns a promise', async () => {
    const proc = new Processor();
    proc.register(async function asyncOne() {
      throw new Error('would be unhandled');
    });
    const err = catchError(() => proc.processSync(new NamedEvent('x'))) as EvprocError;
    expect(err).toBeInstanceOf(EvprocError);
    expect(err.code).toBe('EVPROC_ASYNC_IN_SYNC');
    expect(err.message).toMatch(/handler "asyncOne" returned a promise.*await proc\.process\(ev\)/);
    // The rejected promise was handled: give an unhandled rejection a chance to surface.
    await new Promise((r) => setTimeout(r, 10));
  });

  it('passes the processor and the event to each handler', () => {
    const proc = new Processor();
    const ev = new NamedEvent('x', { n: 1 });
    const got: unknown[] = [];
    proc.register(function h(p, e) {
      got.push(p, e);
    });
    proc.processSync(ev);
    expect(got[0]).toBe(proc);
    expect(got[1]).toBe(ev);
  });
});
