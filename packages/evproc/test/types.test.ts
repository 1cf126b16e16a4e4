import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  Event,
  type Handler,
  NamedEvent,
  Processor,
  ProcNamespaceError,
  type ProcNamespaces,
  requires,
  StopProcessing,
  want,
} from '../src/index.js';

class Deployed extends Event<{ host: string }> {
  get name() {
    return 'deployed';
  }
}
class Failed extends Event<{ code: number }> {
  get name() {
    return 'failed';
  }
}
type AppEvents = { deployed: Deployed; failed: Failed };

describe('typed events', () => {
  it('gives a handler wrapped with proc.want the event type of the name, without casts', () => {
    const proc = new Processor<AppEvents>();
    proc.register(
      proc.want('deployed')(function notify(p, ev) {
        expectTypeOf(ev).toEqualTypeOf<Deployed>();
        expectTypeOf(ev.ctxt.host).toEqualTypeOf<string>();
        expectTypeOf(p).toEqualTypeOf<Processor<AppEvents>>();
      }),
    );
    proc.register(
      proc.want('failed', (ev) => {
        expectTypeOf(ev).toEqualTypeOf<Failed>();
        return ev.ctxt.code > 500;
      })((_p, ev) => {
        expectTypeOf(ev.ctxt.code).toEqualTypeOf<number>();
      }),
      'page',
    );
    proc.register(
      proc.want(
        'deployed',
        'failed',
      )(function both(_p, ev) {
        expectTypeOf(ev).toEqualTypeOf<Deployed | Failed>();
      }),
    );
    // @ts-expect-error 'crashed' is not an event name of AppEvents
    proc.want('crashed');
  });

  it('types a plugin handler through the Handler<Events, name> annotation', () => {
    const notify: Handler<AppEvents, 'deployed'> = want('deployed')((_p, ev) => {
      expectTypeOf(ev).toEqualTypeOf<Deployed>();
    });
    const proc = new Processor<AppEvents>();
    // An arrow passed to want() has no name of its own: give it one (loadFrom uses the package.json key).
    proc.register(requires('x')(notify), 'notify');
  });

  it('accepts handlers written with explicit parameter types, typed or plain', () => {
    const proc = new Processor<AppEvents>();
    function onFailed(_p: Processor<AppEvents>, ev: Failed) {
      expectTypeOf(ev.ctxt.code).toEqualTypeOf<number>();
    }
    function plain(_p: Processor, _ev: Event) {}
    proc.register(want('failed')(onFailed));
    proc.register(plain);
    proc.processSync(new Deployed({ host: 'web-1' }));
    // @ts-expect-error a Deployed needs its context
    new Deployed();
  });

  it('keeps plain use simple: ev is an Event, ctxt unknown', () => {
    const proc = new Processor();
    proc.register(
      want('ev1')(function h(p, ev) {
        expectTypeOf(p).toEqualTypeOf<Processor>();
        expectTypeOf(ev).toEqualTypeOf<Event>();
        expectTypeOf(ev.ctxt).toEqualTypeOf<unknown>();
        return [new NamedEvent('next')];
      }),
    );
    expectTypeOf(proc.processSync).returns.toEqualTypeOf<unknown>();
    expectTypeOf(proc.process).returns.toEqualTypeOf<Promise<unknown>>();
    expectTypeOf(proc.order).returns.toEqualTypeOf<string[]>();
    expectTypeOf(proc.unregister).returns.toEqualTypeOf<boolean>();
  });

  it('returns the wrapped function with its own type', () => {
    function h(_p: Processor, ev: Event): Event[] {
      return [ev];
    }
    expectTypeOf(want('x')(h)).toEqualTypeOf<typeof h>();
    expectTypeOf(requires('y')(h)).toEqualTypeOf<typeof h>();
  });

  it('types contexts and proc', () => {
    const ev = new NamedEvent('a', { user: 'ann' });
    expectTypeOf(ev.ctxt).toEqualTypeOf<{ user: string }>();
    expectTypeOf(new NamedEvent('a').ctxt).toEqualTypeOf<unknown>();
    expectTypeOf(ev.proc).toEqualTypeOf<ProcNamespaces>();
    expect(() => {
      // @ts-expect-error a namespace cannot be assigned
      ev.proc.tests = 1;
    }).toThrow(ProcNamespaceError);
    expectTypeOf(new StopProcessing(1).value).toEqualTypeOf<unknown>();
  });

  it('rejects handlers that return something other than events', () => {
    const proc = new Processor();
    // @ts-expect-error a number is not an iterable of events
    proc.register(function bad() {
      return 42;
    });
  });
});
