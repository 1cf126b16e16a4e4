// Step modules for the results round-trip tests: each kind is a value structured clone can copy but
// JSON cannot, built inside the step (inline, worker thread or child process alike).
export function make(kind) {
  switch (kind) {
    case 'date':
      return new Date('2026-01-02T03:04:05.006Z');
    case 'map':
      return new Map([
        ['a', 1],
        [2, { b: [3] }],
      ]);
    case 'set':
      return new Set([1, 'two', 3n]);
    case 'bigint':
      return 12345678901234567890n;
    case 'regexp':
      return /a+b/gi;
    case 'bytes':
      return new Uint8Array([0, 1, 254, 255]);
    case 'undefined':
      return { a: undefined, list: [undefined, 1] };
    case 'nan':
      return NaN;
    case 'numbers':
      return { nan: NaN, negativeZero: -0, infinity: -Infinity };
    case 'circular': {
      const shared = { name: 'shared' };
      const root = { name: 'root', left: shared, right: shared };
      root.self = root;
      root.list = [root];
      return root;
    }
    case 'function':
      return { rows: [1, 2, { format: function format() {} }] };
    case 'symbol':
      return { tag: Symbol('secret') };
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}
