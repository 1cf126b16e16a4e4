import {
  currentStep,
  type Eventor,
  type EventRef,
  type ExprItem,
  type ProgressGroup,
  type StepConfig,
  type StepOptions,
  type StepRef,
  type StepStatus,
  type TreeDescription,
} from '@flow/eventor';
import { describeFlowTree } from './describe.js';
import {
  beginStep,
  deadEvent,
  doneEvent,
  failedEvent,
  failStep,
  finishStep,
  iterationSequence,
  iterEvent,
  iterFailEvent,
  iterOkEvent,
  mirroredEvent,
  mirrorStep,
  nextStep,
  splitSequence,
  startEvent,
  statusEvent,
  stopStep,
} from './names.js';
import { isContainer, iterationCount, type Req, type StepNode } from './step.js';
import type { FlowTree } from './tree.js';

/** What `compileFlow` leaves for the run: the event that starts the flow, and the leaf steps. */
export interface CompiledFlow {
  /** Fire in sequence '1' to start the top-level steps. */
  readonly start: EventRef;
  /** Eventor step names of the leaf steps (their paths). */
  readonly leafPaths: ReadonlySet<string>;
  /** The progress view's rows: the tree's steps nested by container, bookkeeping steps hidden. */
  readonly progressGroups: readonly ProgressGroup[];
  /** The tree with the compiled names of each step, for `Eventor.describeTree`. */
  readonly tree: TreeDescription;
}

/**
 * A boolean expression over eventor event names, with constants so that a requirement that can
 * never fail (or never hold) simplifies away.
 */
type Bool = boolean | { op: 'ev'; name: string } | { op: 'and' | 'or'; items: Bool[] };

const BOOKKEEPING: Pick<StepOptions, 'recovery' | 'config'> = {
  // Bookkeeping re-derives iterations in every recovery; only leaf steps are skipped.
  recovery: { complete: 'rerun' },
  // Bookkeeping calls triggerEvent on this eventor, so it must run in this thread.
  config: { taskConstruct: 'inline' },
};

/**
 * Compiles a Sequent step tree onto an eventor, using only eventor's public API.
 *
 * Per step X (path P) in a sequence Q of its container C:
 * - `P#start` (when X has requires) = its requires (and `C#iter` when they name steps outside C); X
 *   starts on it, on the one event its requires name, or on `C#iter` without requires; after its delay.
 * - `P#ready|active|success|failure`: X's statuses (a container's come from its bookkeeping steps).
 * - `P#dead` = X's requires can no longer hold; a dead step counts as settled for its iteration.
 * Per container C (path P) started in sequence S:
 * - step `P#begin` (holds C's acquires) fires `P#iter` in `S.1` (or `P#done` in S when repeats is empty);
 * - `P#iok` = every child succeeded, is dead, or failed with a sibling requiring that failure ->
 *   step `P#next` fires `P#iter` in `S.(k+1)`, or `P#done` in S after the last iteration;
 * - `P#done` -> noop step `P#finish` (releases) -> `P#success`;
 * - `P#ifail` = a child failed that no sibling requires, and every child has settled -> step
 *   `P#stop` fires `P#failed` in S -> noop step `P#fail` (releases) -> `P#failure`.
 * A requirement on a step outside the container is matched in the sequence that step runs in: its
 * events are mirrored into each iteration by `<event>@<container>#mirror` steps.
 * A leaf failure that no step handles at any level gets no failure trigger, so eventor sees it as
 * the unhandled failure it is (the run ends `failure`, and stops at once with stopOnException).
 */
export function compileFlow(tree: FlowTree, ev: Eventor): CompiledFlow {
  return new Compiler(tree, ev).compile();
}

class Compiler {
  private readonly exprs = new Map<string, Bool>();
  private readonly mirrors = new Map<string, { source: string; container: StepNode }>();
  private readonly handled = new Set<StepNode>();
  private readonly propagateMemo = new Map<StepNode, boolean>();
  private readonly deadMemo = new Map<StepNode, Bool>();
  private readonly events = new Map<string, EventRef>();
  private readonly roots: string[] = [];
  /** The event a step with requires starts on: `P#start`, or the one event its requires name. */
  private readonly startOn = new Map<StepNode, string>();
  private readonly mirrorMemo = new Map<string, boolean>();
  private needed = new Set<string>();
  /** The eventor step each step starts with: a leaf itself, a container's `#begin`. */
  private readonly entries = new Map<StepNode, StepRef>();
  /** The bookkeeping steps added for each container. */
  private readonly bookkeepingOf = new Map<StepNode, string[]>();

  constructor(
    private readonly tree: FlowTree,
    private readonly ev: Eventor,
  ) {}

  compile(): CompiledFlow {
    this.tree.validate();
    const nodes = this.tree.nodes();
    for (const node of nodes) markHandled(node.requires, this.handled);

    const start = iterEvent(this.tree.root.path);
    this.roots.push(start);
    for (const node of nodes) {
      if (node.requires.length > 0) {
        const { pos } = this.translate({ kind: 'and', items: node.requires }, node);
        // A sibling's events fire only inside a running iteration; mirrored events may come before it.
        const expr = this.touchesMirror(pos)
          ? all([evt(iterEvent((node.parent as StepNode).path)), pos])
          : pos;
        // A single event needs no event of its own: the step starts on it directly.
        const on = typeof expr === 'object' && expr.op === 'ev' ? expr.name : startEvent(node.path);
        if (on === startEvent(node.path)) this.define(on, expr);
        this.startOn.set(node, on);
        this.roots.push(on);
      }
      if (isContainer(node)) this.defineIteration(node);
    }
    this.needed = this.reach();

    for (const node of nodes) {
      if (isContainer(node)) this.addContainerSteps(node);
      else this.addLeafStep(node);
    }
    for (const node of nodes) this.addEntryAssoc(node);
    this.addMirrorSteps();

    const leafPaths = new Set(nodes.filter((node) => !isContainer(node)).map((node) => node.path));
    const tree = describeFlowTree(this.tree, {
      leafStep: (node) => (this.entries.get(node) as StepRef).name,
      bookkeepingOf: (node) => this.bookkeepingOf.get(node) ?? [],
      failsVisibly: (node) => this.exprs.has(iterFailEvent(node.path)),
    });
    return { start: this.event(start), leafPaths, progressGroups: this.progressGroups(nodes), tree };
  }

  private progressGroups(nodes: readonly StepNode[]): ProgressGroup[] {
    const groups: ProgressGroup[] = [];
    for (const node of nodes) {
      if (node.parent === undefined) continue; // the flow itself
      const group: ProgressGroup = { name: node.path, label: node.name };
      if (node.parent.parent !== undefined) group.parent = node.parent.path;
      const hides = this.bookkeepingOf.get(node);
      if (hides !== undefined) group.hides = hides;
      groups.push(group);
    }
    return groups;
  }

  /** Adds a bookkeeping step of `container`: the progress view shows it through the container's row. */
  private addBookkeeping(container: StepNode, name: string, options: StepOptions): StepRef {
    const steps = this.bookkeepingOf.get(container) ?? [];
    steps.push(name);
    this.bookkeepingOf.set(container, steps);
    return this.ev.addStep(name, options);
  }

  // ---- requirements -> expressions ---------------------------------------------------------------

  /** `pos` holds when the requirement does; `neg` when it never can any more (in `at`'s sequence). */
  private translate(req: Req, at: StepNode): { pos: Bool; neg: Bool } {
    if (req.kind === 'status') return this.statusItem(req.target, req.status, at);
    const parts = req.items.map((item) => this.translate(item, at));
    const pos = parts.map((part) => part.pos);
    const neg = parts.map((part) => part.neg);
    return req.kind === 'and' ? { pos: all(pos), neg: any(neg) } : { pos: any(pos), neg: all(neg) };
  }

  private statusItem(target: StepNode, status: StepStatus, at: StepNode): { pos: Bool; neg: Bool } {
    const chain = this.mirrorChain(at, target);
    const seen = (status: 'ready' | 'active' | 'success' | 'failure'): Bool =>
      evt(this.mirror(statusEvent(target.path, status), chain));
    const deadHere = this.deadOf(target);
    const dead: Bool = deadHere === false ? false : evt(this.mirror(deadEvent(target.path), chain));
    switch (status) {
      case 'success':
        return { pos: seen('success'), neg: any([seen('failure'), dead]) };
      case 'failure':
        return { pos: seen('failure'), neg: any([seen('success'), dead]) };
      case 'complete':
        return { pos: any([seen('success'), seen('failure')]), neg: dead };
      // A step that finished went through active (and ready); recovery skips fire only success.
      case 'active':
        return { pos: any([seen('active'), seen('success'), seen('failure')]), neg: dead };
      case 'ready':
        return { pos: any([seen('ready'), seen('active'), seen('success'), seen('failure')]), neg: dead };
    }
  }

  /** `P#dead` of a step with requires (in its own sequence); false for a step that always starts. */
  private deadOf(node: StepNode): Bool {
    const memo = this.deadMemo.get(node);
    if (memo !== undefined) return memo;
    this.deadMemo.set(node, false); // requirements are acyclic (checked), so this is never read early
    let dead: Bool = false;
    if (node.requires.length > 0) {
      const { neg } = this.translate({ kind: 'and', items: node.requires }, node);
      if (neg !== false) dead = this.define(deadEvent(node.path), neg);
    }
    this.deadMemo.set(node, dead);
    return dead;
  }

  /** Containers from the one beside `target` down to `at`'s own container (empty for siblings). */
  private mirrorChain(at: StepNode, target: StepNode): StepNode[] {
    const beside = this.tree.liftTo(at, target);
    const chain: StepNode[] = [];
    if (beside === at) return chain;
    for (let node = at.parent as StepNode; ; node = node.parent as StepNode) {
      chain.unshift(node);
      if (node === beside) return chain;
    }
  }

  /** The name under which `name`, fired in the sequence of `chain[0]`, is seen inside the chain. */
  private mirror(name: string, chain: readonly StepNode[]): string {
    let current = name;
    for (const container of chain) {
      const inner = mirroredEvent(current, container.path);
      if (!this.mirrors.has(inner)) this.mirrors.set(inner, { source: current, container });
      current = inner;
    }
    return current;
  }

  private defineIteration(node: StepNode): void {
    if (node.parent === undefined) return; // the flow itself: '#iter' fired once by run()
    const iter = evt(iterEvent(node.path));
    const slots: Bool[] = [];
    const failures: Bool[] = [];
    const settled: Bool[] = [];
    // Later children tend to end later: checking them first makes the AND fail fast while the
    // iteration is still running (eventor evaluates it each time one of its events fires).
    for (const child of [...node.children].reverse()) {
      const success = evt(statusEvent(child.path, 'success'));
      const failure = evt(statusEvent(child.path, 'failure'));
      const dead = this.deadOf(child);
      const handledHere = this.handled.has(child);
      slots.push(any([success, dead, handledHere ? failure : false]));
      if (!handledHere) failures.push(failure);
      settled.push(any([success, failure, dead]));
    }
    // The iteration's own event guards against children ended before it started: none at all, or
    // children made dead early by a mirrored event.
    const guard = slots.length === 0 || slots.some((slot) => this.touchesMirror(slot)) ? [iter] : [];
    this.define(iterOkEvent(node.path), all([...guard, ...slots]));
    this.roots.push(iterOkEvent(node.path), doneEvent(node.path));
    if (this.failsVisibly(node) && failures.length > 0) {
      this.define(iterFailEvent(node.path), all([...guard, ...settled, any(failures)]));
      this.roots.push(iterFailEvent(node.path), failedEvent(node.path));
    }
  }

  /** True when `expr` depends, through expression events, on an event mirrored from outside. */
  private touchesMirror(expr: Bool): boolean {
    return namesIn(expr).some((name) => {
      if (this.mirrors.has(name)) return true;
      const inner = this.exprs.get(name);
      if (inner === undefined) return false;
      let memo = this.mirrorMemo.get(name);
      if (memo === undefined) {
        memo = this.touchesMirror(inner);
        this.mirrorMemo.set(name, memo);
      }
      return memo;
    });
  }

  private define(name: string, expr: Bool): Bool {
    if (expr === true || expr === false) return expr;
    this.exprs.set(name, expr);
    return evt(name);
  }

  /**
   * True when a failure of `node` must fire `P#failure`: some step requires the failure of `node`
   * or of one of its containers. Otherwise nothing could handle it: eventor sees it unhandled.
   */
  private failsVisibly(node: StepNode): boolean {
    const memo = this.propagateMemo.get(node);
    if (memo !== undefined) return memo;
    const parent = node.parent as StepNode;
    const result = this.handled.has(node) || (parent.parent !== undefined && this.failsVisibly(parent));
    this.propagateMemo.set(node, result);
    return result;
  }

  /** Names of the events something can observe: what steps must trigger and assocs listen to. */
  private reach(): Set<string> {
    const needed = new Set<string>();
    const stack = [...this.roots];
    while (stack.length > 0) {
      const name = stack.pop() as string;
      if (needed.has(name)) continue;
      needed.add(name);
      const expr = this.exprs.get(name);
      if (expr !== undefined) for (const inner of namesIn(expr)) stack.push(inner);
      const mirror = this.mirrors.get(name);
      if (mirror) stack.push(mirror.source);
    }
    return needed;
  }

  // ---- eventor objects ---------------------------------------------------------------------------

  private event(name: string): EventRef {
    const existing = this.events.get(name);
    if (existing) return existing;
    const expr = this.exprs.get(name);
    const ref =
      expr === undefined ? this.ev.addEvent(name) : this.ev.addEvent(name, { expr: this.toExpr(expr) });
    this.events.set(name, ref);
    return ref;
  }

  private toExpr(expr: Bool): ExprItem {
    if (expr === true || expr === false) throw new Error(`internal: constant ${expr} left in an expression`);
    if (expr.op === 'ev') return this.event(expr.name);
    const items = expr.items.map((item) => this.toExpr(item));
    return { op: expr.op, items }; // what and()/or() build, without spreading a long list into a call
  }

  /** Trigger lists for the statuses that something observes (and for `always`, observed or not). */
  private triggers(
    statuses: Partial<Record<StepStatus, string>>,
    always?: StepStatus,
  ): StepOptions['triggers'] {
    const out: Partial<Record<StepStatus, EventRef[]>> = {};
    for (const [status, name] of Object.entries(statuses) as Array<[StepStatus, string]>) {
      if (status === always || this.needed.has(name)) out[status] = [this.event(name)];
    }
    return out;
  }

  private addLeafStep(node: StepNode): void {
    const { options } = node;
    const step: StepOptions = {};
    for (const key of [
      'func',
      'module',
      'export',
      'command',
      'cwd',
      'env',
      'args',
      'acquires',
      'releases',
      'recovery',
    ] as const) {
      if (options[key] !== undefined) (step as Record<string, unknown>)[key] = options[key];
    }
    const config = inheritedConfig(node);
    if (config !== undefined) step.config = config;
    const p = node.path;
    // Without a failure trigger, eventor counts the leaf's failure as unhandled: nothing handles it.
    step.triggers = this.triggers(
      {
        ready: statusEvent(p, 'ready'),
        active: statusEvent(p, 'active'),
        success: statusEvent(p, 'success'),
        ...(this.failsVisibly(node) ? { failure: statusEvent(p, 'failure') } : {}),
      },
      'failure',
    );
    this.entries.set(node, this.ev.addStep(p, step));
  }

  private addContainerSteps(node: StepNode): void {
    if (node.parent === undefined) return;
    const ev = this.ev;
    const p = node.path;
    const n = iterationCount(node);
    const { acquires, releases } = node.options;
    const iter = this.event(iterEvent(p));
    const done = this.event(doneEvent(p));
    const begin = this.addBookkeeping(node, beginStep(p), {
      ...BOOKKEEPING,
      func: () => {
        const sequence = currentStep().sequence;
        if (n === 0) ev.triggerEvent(done, sequence);
        else ev.triggerEvent(iter, iterationSequence(sequence, 1));
      },
      ...(acquires !== undefined && acquires.length > 0 ? { acquires, releases: [] } : {}),
      triggers: this.triggers({ ready: statusEvent(p, 'ready'), active: statusEvent(p, 'active') }),
    });
    this.entries.set(node, begin);
    const next = this.addBookkeeping(node, nextStep(p), {
      ...BOOKKEEPING,
      func: () => {
        const { outer, k } = splitSequence(currentStep().sequence);
        if (k < n) ev.triggerEvent(iter, iterationSequence(outer, k + 1));
        else ev.triggerEvent(done, outer);
      },
    });
    ev.addAssoc(this.event(iterOkEvent(p)), next);
    const giveBack = releases ?? acquires;
    // A function, not a no-op step: eventor finishes a no-op inside its start loop, and tasks queued
    // before it that wait for the pool it releases would not be looked at again in that run.
    const releaseOptions =
      giveBack !== undefined && giveBack.length > 0 ? { releases: giveBack, func: noop } : {};
    const finish = this.addBookkeeping(node, finishStep(p), {
      ...BOOKKEEPING,
      ...releaseOptions,
      triggers: this.triggers({ success: statusEvent(p, 'success') }),
    });
    ev.addAssoc(done, finish);
    if (this.exprs.has(iterFailEvent(p))) {
      const failed = this.event(failedEvent(p));
      const stop = this.addBookkeeping(node, stopStep(p), {
        ...BOOKKEEPING,
        func: () => {
          ev.triggerEvent(failed, splitSequence(currentStep().sequence).outer);
        },
      });
      ev.addAssoc(this.event(iterFailEvent(p)), stop);
      // The container's failure, as a status of the container: its own step succeeds.
      const fail = this.addBookkeeping(node, failStep(p), {
        ...BOOKKEEPING,
        ...releaseOptions,
        triggers: { success: [this.event(statusEvent(p, 'failure'))] },
      });
      ev.addAssoc(failed, fail);
    }
  }

  private addEntryAssoc(node: StepNode): void {
    const entry = this.entries.get(node);
    if (entry === undefined) return; // the flow itself
    const parent = node.parent as StepNode;
    const on = this.startOn.get(node) ?? iterEvent(parent.path);
    const delay = node.options.delay;
    this.ev.addAssoc(this.event(on), entry, delay === undefined ? {} : { delay });
  }

  private addMirrorSteps(): void {
    for (const [name, { source, container }] of this.mirrors) {
      if (!this.needed.has(name)) continue;
      const ev = this.ev;
      const target = this.event(name);
      const n = iterationCount(container);
      const step = this.addBookkeeping(container, mirrorStep(name), {
        ...BOOKKEEPING,
        func: () => {
          // Early is harmless: children start on and(iteration, requires); iterations end likewise.
          const sequence = currentStep().sequence;
          for (let k = 1; k <= n; k++) ev.triggerEvent(target, iterationSequence(sequence, k));
        },
      });
      ev.addAssoc(this.event(source), step);
    }
  }
}

function noop(): undefined {
  return undefined;
}

function inheritedConfig(node: StepNode): StepConfig | undefined {
  const layers: StepConfig[] = [];
  for (let at: StepNode | undefined = node; at !== undefined; at = at.parent) {
    if (at.options.config !== undefined) layers.unshift(at.options.config);
  }
  if (layers.length === 0) return undefined;
  return Object.assign({}, ...layers) as StepConfig;
}

function markHandled(requires: readonly Req[], into: Set<StepNode>): void {
  for (const req of requires) {
    if (req.kind !== 'status') markHandled(req.items, into);
    else if (req.status === 'failure' || req.status === 'complete') into.add(req.target);
  }
}

function evt(name: string): Bool {
  return { op: 'ev', name };
}

function all(items: Bool[]): Bool {
  return combine('and', items);
}

function any(items: Bool[]): Bool {
  return combine('or', items);
}

/** and/or with constants folded, nested groups of the same op flattened, duplicates dropped. */
function combine(op: 'and' | 'or', items: Bool[]): Bool {
  const absorbing = op === 'or';
  const out: Bool[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    if (item === absorbing) return absorbing;
    if (item === !absorbing) continue;
    const flat = typeof item === 'object' && item.op === op ? item.items : [item];
    for (const part of flat) {
      const key = JSON.stringify(part);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(part);
    }
  }
  if (out.length === 0) return !absorbing;
  if (out.length === 1) return out[0] as Bool;
  return { op, items: out };
}

function namesIn(expr: Bool, into: string[] = []): string[] {
  if (expr === true || expr === false) return into;
  if (expr.op === 'ev') into.push(expr.name);
  else for (const item of expr.items) namesIn(item, into);
  return into;
}
