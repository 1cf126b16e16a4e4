import { ProcNamespaceError } from './errors.js';

/**
 * The namespaces of `ev.proc`. Any name not starting with `_` reads as a namespace (an object
 * created on first read). Augment this interface to type your own namespace:
 * @example
 * declare module '@flow/evproc' {
 *   interface ProcNamespaces { readonly tests: { args?: number[] } }
 * }
 */
export interface ProcNamespaces {
  // biome-ignore lint/suspicious/noExplicitAny: free scratch space; augment the interface to type a namespace
  readonly [namespace: string]: any;
}

function describeKey(key: string | symbol): string {
  return typeof key === 'symbol' ? key.toString() : key;
}

function reserved(path: string, key: string): ProcNamespaceError {
  return new ProcNamespaceError(
    key,
    `${path}.${key}: names starting with "_" are reserved in ev.proc; ` +
      `use a name without the leading underscore, e.g. ${path}.${key.replace(/^_+/, '') || 'mine'}`,
  );
}

// Fields inside a namespace are free, except names starting with '_', which stay reserved.
const namespaceHandler: ProxyHandler<Record<string, unknown>> = {
  get(target, key, receiver) {
    if (typeof key === 'string' && key.startsWith('_')) throw reserved('ev.proc.<namespace>', key);
    return Reflect.get(target, key, receiver);
  },
  set(target, key, value, receiver) {
    if (typeof key === 'string' && key.startsWith('_')) throw reserved('ev.proc.<namespace>', key);
    return Reflect.set(target, key, value, receiver);
  },
  defineProperty(target, key, descriptor) {
    if (typeof key === 'string' && key.startsWith('_')) throw reserved('ev.proc.<namespace>', key);
    return Reflect.defineProperty(target, key, descriptor);
  },
  deleteProperty(target, key) {
    if (typeof key === 'string' && key.startsWith('_')) throw reserved('ev.proc.<namespace>', key);
    return Reflect.deleteProperty(target, key);
  },
  has(target, key) {
    if (typeof key === 'string' && key.startsWith('_')) throw reserved('ev.proc.<namespace>', key);
    return Reflect.has(target, key);
  },
};

function createNamespace(): Record<string, unknown> {
  return new Proxy<Record<string, unknown>>({}, namespaceHandler);
}

function refuse(key: string | symbol, action: string): never {
  const name = describeKey(key);
  if (typeof key === 'string' && key.startsWith('_')) throw reserved('ev.proc', key);
  throw new ProcNamespaceError(
    name,
    `ev.proc.${name} cannot be ${action}: ev.proc holds one namespace per name, created on first read. ` +
      `Store your data inside the namespace instead, e.g. ev.proc.${name}.value = 1`,
  );
}

const procHandler: ProxyHandler<Record<string, Record<string, unknown>>> = {
  get(target, key) {
    // Symbols (util.inspect, Symbol.toPrimitive, ...) are not namespaces.
    if (typeof key === 'symbol') return undefined;
    if (key.startsWith('_')) throw reserved('ev.proc', key);
    let namespace = target[key];
    if (namespace === undefined) {
      namespace = createNamespace();
      Object.defineProperty(target, key, { value: namespace, enumerable: true, configurable: true });
    }
    return namespace;
  },
  has(target, key) {
    if (typeof key === 'symbol') return false;
    if (key.startsWith('_')) throw reserved('ev.proc', key);
    return Object.hasOwn(target, key);
  },
  set(_target, key) {
    return refuse(key, 'assigned');
  },
  defineProperty(_target, key) {
    return refuse(key, 'assigned');
  },
  deleteProperty(_target, key) {
    return refuse(key, 'deleted');
  },
  setPrototypeOf() {
    throw new ProcNamespaceError(
      '<prototype>',
      'ev.proc cannot change its prototype; it only holds namespaces',
    );
  },
  preventExtensions() {
    throw new ProcNamespaceError(
      '<extensions>',
      'ev.proc cannot be frozen or sealed; it creates namespaces on read',
    );
  },
};

/** Creates the `ev.proc` holder: one namespace object per name, created on first read. */
export function createProcNamespaces(): ProcNamespaces {
  return new Proxy(Object.create(null) as Record<string, Record<string, unknown>>, procHandler);
}
