import type { ScopedLogger } from '../logger.js';
import { evaluateExpr } from '../model/expression.js';
import type { AssocDef, FlowDefinition } from '../model/flow.js';
import type { StepDef } from '../model/step.js';
import { keyOf, type RunSnapshot, type TriggerSource } from '../store/types.js';
import type { CommitBatch } from './task.js';

interface PendingDelay {
  assoc: AssocDef;
  sequence: string;
  dueAt: number;
  /** Insertion order, to keep ties in the order they were scheduled. */
  seq: number;
}

/**
 * Events firing in a run: each fires once per sequence and recovery, fires the expression events
 * that now hold, and acts on its assocs (starting steps, firing events, or scheduling a delay).
 * Knows which events fired from the run's snapshot, so a pass never reads the store.
 */
export class Firing {
  private readonly fired: Set<string>;
  private readonly delayDue: Map<string, number>;
  private readonly delaysHere: Set<string>;
  /** Pending delays ordered by due time; a sorted array is enough at these sizes. */
  private readonly delays: PendingDelay[] = [];
  private delaySeq = 0;
  private queue: Array<{ event: string; sequence: string }> = [];
  now = 0;

  constructor(
    private readonly flow: FlowDefinition,
    private readonly batch: CommitBatch,
    private readonly logger: ScopedLogger,
    snapshot: RunSnapshot,
    private readonly createTask: (step: StepDef, sequence: string) => void,
  ) {
    this.fired = snapshot.fired;
    this.delayDue = snapshot.delayDue;
    this.delaysHere = snapshot.delaysHere;
    for (const row of snapshot.pendingDelays) {
      const assoc = flow.assocByKey(row.assoc);
      if (!assoc) {
        // nothing in the program can act on it any more, so it is closed rather than left pending
        logger.warn(
          { assoc: row.assoc, sequence: row.sequence },
          `A pending delay of assoc ${row.assoc} in sequence ${row.sequence} is dropped: the flow no longer defines that assoc`,
        );
        batch.delayFired(row.assoc, row.sequence);
        continue;
      }
      this.pushDelay(assoc, row.sequence, row.dueAt);
    }
  }

  hasFired(event: string, sequence: string): boolean {
    return this.fired.has(keyOf(sequence, event));
  }

  /** Fires `event` in `sequence` unless it already fired there in this recovery. */
  fire(event: string, sequence: string, source?: TriggerSource): void {
    const key = keyOf(sequence, event);
    if (this.fired.has(key)) return;
    this.fired.add(key);
    this.batch.trigger(event, sequence, source);
    this.onFired(event, sequence);
  }

  fireAll(events: readonly string[], sequence: string): void {
    for (const event of events) this.fire(event, sequence);
  }

  /** A trigger committed before this pass (by triggerEvent outside the loop, or before a crash). */
  actOnCommitted(event: string, sequence: string): void {
    this.fired.add(keyOf(sequence, event));
    this.batch.actedOn(event, sequence);
    this.onFired(event, sequence);
  }

  /** Fired events whose assocs have not been acted on yet. */
  get hasQueued(): boolean {
    return this.queue.length > 0;
  }

  /** Acts on the assocs of everything fired so far, until nothing more fires. */
  propagate(): void {
    while (this.queue.length > 0) {
      const queue = this.queue;
      this.queue = [];
      for (const trigger of queue) {
        for (const assoc of this.flow.assocsOf(trigger.event)) {
          if (assoc.delayMs > 0) this.scheduleDelay(assoc, trigger.sequence);
          else this.actOnTargets(assoc, trigger.sequence);
        }
      }
    }
  }

  /** Acts on the delays due by `time`. */
  fireDueDelays(time: number): void {
    let count = 0;
    while (count < this.delays.length && (this.delays[count] as PendingDelay).dueAt <= time) count++;
    if (count === 0) return;
    for (const delay of this.delays.splice(0, count)) {
      this.batch.delayFired(delay.assoc.key, delay.sequence);
      this.actOnTargets(delay.assoc, delay.sequence);
    }
  }

  get nextDelayDue(): number | undefined {
    return this.delays[0]?.dueAt;
  }

  get pendingDelays(): number {
    return this.delays.length;
  }

  private onFired(event: string, sequence: string): void {
    if (this.logger.enabled('debug'))
      this.logger.debug({ event, sequence }, `Event ${event}[${sequence}] fired`);
    this.queue.push({ event, sequence });
    const dependents = this.flow.dependentsOf(event);
    if (dependents.length === 0) return;
    const fired = (name: string) => this.fired.has(keyOf(sequence, name));
    for (const dependent of dependents) {
      if (dependent.expr && evaluateExpr(dependent.expr, fired)) this.fire(dependent.name, sequence);
    }
  }

  private actOnTargets(assoc: AssocDef, sequence: string): void {
    for (const target of assoc.targets) {
      if (target.kind === 'event') this.fire(target.name, sequence);
      else this.createTask(this.flow.requireStep(target.name, assoc.event), sequence);
    }
  }

  /** A delay keeps the due time an earlier recovery gave it, so recovering does not push it back. */
  private scheduleDelay(assoc: AssocDef, sequence: string): void {
    const key = keyOf(assoc.key, sequence);
    if (this.delaysHere.has(key)) return;
    this.delaysHere.add(key);
    let dueAt = this.delayDue.get(key);
    if (dueAt === undefined) {
      dueAt = this.now + assoc.delayMs;
      this.delayDue.set(key, dueAt);
    }
    const due = dueAt <= this.now;
    this.batch.delay(assoc.key, sequence, dueAt, due);
    if (due) this.actOnTargets(assoc, sequence);
    else this.pushDelay(assoc, sequence, dueAt);
  }

  private pushDelay(assoc: AssocDef, sequence: string, dueAt: number): void {
    const delay = { assoc, sequence, dueAt, seq: this.delaySeq++ };
    let low = 0;
    let high = this.delays.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.delays[mid] as PendingDelay).dueAt <= dueAt) low = mid + 1;
      else high = mid;
    }
    this.delays.splice(low, 0, delay);
  }
}
