import { describe, expect, it } from 'vitest';
import { type Event, NamedEvent, Processor, requiredBy, requires, want } from '../src/index.js';

function noop(_proc: Processor, _ev: Event) {}

describe('want', () => {
  it('returns the same function', () => {
    const fn = function h() {};
    expect(want('ev1')(fn)).toBe(fn);
    expect(want((ev) => ev.name === 'x')(fn)).toBe(fn);
  });

  it('throws a TypeError naming the bad value', () => {
    expect(() => want()).toThrow(TypeError);
    expect(() => want(42 as unknown as string)).toThrow(/got 42/);
    expect(() => want('')).toThrow(/got ""/);
    expect(() => want('ev1', null as unknown as string)).toThrow(/got null/);
    expect(() => want('ev1')(42 as never)).toThrow(/must wrap a handler function, got 42/);
  });

  it('stacks: each want is an alternative, metadata read at registration', () => {
    const seen: string[] = [];
    const h = want(
      'ev1',
      'ev2',
    )(
      want(
        'ev3',
        (ev) => ev.ctxt === 'ok',
      )(function h(_p, ev) {
        seen.push(`${ev.name}:${String(ev.ctxt)}`);
      }),
    );
    const proc = new Processor();
    proc.register(h);
    for (const [name, ctxt] of [
      ['ev1', 'x'],
      ['ev2', undefined],
      ['ev3', 'ok'],
      ['ev3', 'no'],
      ['ev4', 'ok'],
    ] as const) {
      proc.processSync(new NamedEvent(name, ctxt));
    }
    expect(seen).toEqual(['ev1:x', 'ev2:undefined', 'ev3:ok']);
  });
});

describe('requires and requiredBy', () => {
  it('return the same function and stack', () => {
    const fn = function h() {};
    expect(requires('a')(requiredBy('b')(requires('c')(fn)))).toBe(fn);
    const proc = new Processor();
    proc.register(function a() {});
    proc.register(function b() {});
    proc.register(function c() {});
    proc.register(fn);
    expect(proc.order('x')).toEqual(['a', 'c', 'h', 'b']);
  });

  it('throw a TypeError naming the bad value', () => {
    expect(() => requires()).toThrow(/at least one handler name/);
    expect(() => requiredBy()).toThrow(TypeError);
    expect(() => requires('a', 3 as unknown as string)).toThrow(/requires\(\) takes handler names.*got 3/);
    expect(() => requiredBy({} as unknown as string)).toThrow(
      /requiredBy\(\) takes handler names.*got object/,
    );
    expect(() => requires('a')('nope' as never)).toThrow(/got "nope"/);
    expect(() => requires('a')(noop)).not.toThrow();
  });
});
