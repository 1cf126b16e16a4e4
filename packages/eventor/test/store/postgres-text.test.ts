// Names on PostgreSQL, whose text cannot hold NUL: written with an escape that must give every name
// back as it was, and keep the code-point order of names (flowNames, ORDER BY ... COLLATE "C").
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromDb, toDb } from '../../src/store/postgres/text.js';

const names = fc.string({ unit: fc.constantFrom('\u0000', '\u0001', '\u0002', '0', '1', 'a', '€', '🚀') });
const byCodePoint = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0) as number);
  const y = [...b].map((c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(x.length, y.length); i++)
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
};

describe('names as a PostgreSQL store writes them', () => {
  it('holds no NUL, and reads back as given', () => {
    fc.assert(
      fc.property(names, (name) => {
        expect(toDb(name).includes('\u0000')).toBe(false);
        expect(fromDb(toDb(name))).toBe(name);
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps a name without NUL or U+0001 as it is, and the order of any two names', () => {
    expect(toDb('s1_s11/1.2.2')).toBe('s1_s11/1.2.2');
    expect(toDb('x\u0000y')).toBe('x\u00010y');
    fc.assert(
      fc.property(names, names, (a, b) => {
        expect(Math.sign(byCodePoint(toDb(a), toDb(b)))).toBe(Math.sign(byCodePoint(a, b)));
      }),
      { numRuns: 2_000 },
    );
  });
});
