import { createProcNamespaces, type ProcNamespaces } from './proc-namespace.js';

/** Constructor arguments of an event: the context is optional when `undefined` fits `Ctxt`. */
export type EventArgs<Ctxt> = undefined extends Ctxt ? [ctxt?: Ctxt] : [ctxt: Ctxt];

/**
 * An event. Subclasses implement the `name` getter; handlers select events by that name.
 * @example
 * class Deployed extends Event<{ host: string }> {
 *   get name() { return 'deployed'; }
 * }
 * const ev = new Deployed({ host: 'web-1' });
 */
export abstract class Event<Ctxt = unknown> {
  /** The event's name, matched against the names given to `want(...)`. */
  abstract get name(): string;

  /** The context given to the constructor (`undefined` if none). */
  readonly ctxt: Ctxt;

  #proc: ProcNamespaces | undefined;

  constructor(...args: EventArgs<Ctxt>) {
    this.ctxt = args[0] as Ctxt;
  }

  /**
   * Scratch space shared by the handlers of this event, one namespace per name:
   * `ev.proc.tests.args = [1, 2]`. Assigning `ev.proc.tests` itself, or any name starting with `_`,
   * throws `ProcNamespaceError`.
   */
  get proc(): ProcNamespaces {
    if (this.#proc === undefined) this.#proc = createProcNamespaces();
    return this.#proc;
  }
}

/**
 * An event whose name is given at construction, for when a class is not worth it.
 * @example
 * const ev = new NamedEvent('ev1', { user: 'ann' });
 */
export class NamedEvent<Ctxt = unknown> extends Event<Ctxt> {
  readonly #name: string;

  constructor(name: string, ...args: EventArgs<Ctxt>) {
    super(...args);
    if (typeof name !== 'string' || name === '') {
      throw new TypeError(`NamedEvent needs a non-empty string name, got ${String(name)}`);
    }
    this.#name = name;
  }

  get name(): string {
    return this.#name;
  }
}
