import { describe, expect, it } from 'vitest';
import { Event, NamedEvent, ProcNamespaceError } from '../src/index.js';

class Deployed extends Event<{ host: string }> {
  get name() {
    return 'deployed';
  }
}

describe('Event', () => {
  it('takes its name from the subclass getter and keeps the context', () => {
    const ev = new Deployed({ host: 'web-1' });
    expect(ev.name).toBe('deployed');
    expect(ev.ctxt).toEqual({ host: 'web-1' });
    expect(ev).toBeInstanceOf(Event);
  });

  it('has an undefined context when none is given', () => {
    expect(new NamedEvent('ev1').ctxt).toBeUndefined();
  });
});

describe('NamedEvent', () => {
  it('takes its name and context from the constructor', () => {
    const ev = new NamedEvent('ev1', 'ok');
    expect(ev.name).toBe('ev1');
    expect(ev.ctxt).toBe('ok');
  });

  it('throws a TypeError naming the value when the name is not a non-empty string', () => {
    expect(() => new NamedEvent('')).toThrow(TypeError);
    expect(() => new NamedEvent(42 as unknown as string)).toThrow(/got 42/);
  });
});

describe('ev.proc', () => {
  it('returns the same namespace for a name, created on first read', () => {
    const ev = new NamedEvent('ev1');
    expect('tests' in ev.proc).toBe(false);
    const tests = ev.proc.tests;
    expect('tests' in ev.proc).toBe(true);
    expect(ev.proc.tests).toBe(tests);
    ev.proc.tests.args = [1, 2];
    expect(ev.proc.tests.args).toEqual([1, 2]);
    expect(Object.keys(ev.proc)).toEqual(['tests']);
  });

  it('gives each event its own namespaces', () => {
    const a = new NamedEvent('a');
    const b = new NamedEvent('b');
    a.proc.tests.value = 1;
    expect(b.proc.tests.value).toBeUndefined();
  });

  it('throws ProcNamespaceError naming the namespace when it is assigned', () => {
    const ev = new NamedEvent('ev1');
    const attempt = () => {
      (ev.proc as Record<string, unknown>).tests = 1;
    };
    expect(attempt).toThrow(ProcNamespaceError);
    expect(attempt).toThrow(/ev\.proc\.tests cannot be assigned.*ev\.proc\.tests\.value = 1/);
    try {
      attempt();
    } catch (err) {
      expect((err as ProcNamespaceError).code).toBe('EVPROC_PROC_NAMESPACE');
      expect((err as ProcNamespaceError).namespace).toBe('tests');
    }
  });

  it('throws ProcNamespaceError when a namespace is assigned even after it exists', () => {
    const ev = new NamedEvent('ev1');
    ev.proc.tests.args = [];
    expect(() => {
      (ev.proc as Record<string, unknown>).tests = {};
    }).toThrow(ProcNamespaceError);
    expect(ev.proc.tests.args).toEqual([]);
  });

  it('throws ProcNamespaceError when a namespace is deleted or defined', () => {
    const ev = new NamedEvent('ev1');
    ev.proc.tests.args = [];
    expect(() => delete (ev.proc as Record<string, unknown>).tests).toThrow(/cannot be deleted/);
    expect(() => Object.defineProperty(ev.proc, 'other', { value: {} })).toThrow(ProcNamespaceError);
    expect(() => Object.freeze(ev.proc)).toThrow(ProcNamespaceError);
  });

  it('throws ProcNamespaceError for any touch of a name starting with _', () => {
    const ev = new NamedEvent('ev1');
    expect(() => ev.proc._secret).toThrow(/names starting with "_" are reserved.*ev\.proc\.secret/);
    expect(() => '_secret' in ev.proc).toThrow(ProcNamespaceError);
    expect(() => {
      (ev.proc as Record<string, unknown>)._secret = 1;
    }).toThrow(ProcNamespaceError);
  });

  it('keeps names starting with _ reserved inside a namespace too; others are free', () => {
    const ev = new NamedEvent('ev1');
    const ns = ev.proc.tests;
    ns.anything = 1;
    ns.nested = { deep: true };
    delete ns.anything;
    expect(ns).toEqual({ nested: { deep: true } });
    expect(() => {
      ns._private = 1;
    }).toThrow(ProcNamespaceError);
    expect(() => ns._private).toThrow(ProcNamespaceError);
  });
});
