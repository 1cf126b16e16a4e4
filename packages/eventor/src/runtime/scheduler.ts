import type { ResourcePool } from '../model/resource-pool.js';
import type { StepDef } from '../model/step.js';
import { ResourceLedger } from './resources.js';
import type { Task } from './task.js';

/**
 * Ready tasks, in the order they became ready, and the room to start them: the eventor's cap, each
 * step's `maxConcurrent`, and the pools they acquire. A body that timed out but still runs (an inline
 * step cannot be killed) keeps its place under the caps until it settles.
 */
export class Scheduler {
  readonly resources = new ResourceLedger();
  private queue: Array<Task | undefined> = [];
  private head = 0;
  private count = 0;
  /** Tasks started and not yet settled, with bodies still running after a timeout, per step. */
  private readonly busyPerStep = new Map<string, number>();
  private busy = 0;
  private overdue = 0;

  constructor(private readonly cap: number) {}

  get readyCount(): number {
    return this.count;
  }

  /** Tasks holding a place: running, or timed out with a body still going. */
  get occupied(): number {
    return this.busy;
  }

  get hasOverdue(): boolean {
    return this.overdue > 0;
  }

  enqueue(task: Task): void {
    this.queue.push(task);
    this.count += 1;
  }

  readyTasks(): Task[] {
    return this.queue.slice(this.head).filter((task): task is Task => task !== undefined);
  }

  /** Takes a place for a task of `step` (when it starts, or while an overdue body runs on). */
  occupy(step: StepDef, overdue = false): void {
    this.busy += 1;
    if (overdue) this.overdue += 1;
    this.busyPerStep.set(step.name, (this.busyPerStep.get(step.name) ?? 0) + 1);
  }

  vacate(step: StepDef, overdue = false): void {
    this.busy -= 1;
    if (overdue) this.overdue -= 1;
    this.busyPerStep.set(step.name, (this.busyPerStep.get(step.name) ?? 1) - 1);
  }

  /** Starts (with `begin`) what has room, in order; repeats while a no-op step gives resources back. */
  startReady(begin: (task: Task) => void): void {
    let releases: number;
    do {
      releases = this.resources.releases;
      this.scan(begin);
    } while (this.resources.releases !== releases && this.count > 0);
  }

  private scan(begin: (task: Task) => void): void {
    if (this.count === 0) return;
    let blockedPools: Set<ResourcePool> | undefined;
    const queue = this.queue;
    for (let i = this.head; i < queue.length; i++) {
      if (this.busy >= this.cap) break;
      const task = queue[i];
      if (task === undefined) continue;
      const step = task.step;
      if (
        step.config.maxConcurrent > 0 &&
        (this.busyPerStep.get(step.name) ?? 0) >= step.config.maxConcurrent
      )
        continue;
      if (step.acquires.length > 0) {
        const blocked = blockedPools !== undefined && step.acquires.some(([pool]) => blockedPools?.has(pool));
        if (blocked || !this.resources.tryAcquireAll(step.acquires)) {
          blockedPools ??= new Set();
          for (const [pool] of step.acquires) blockedPools.add(pool);
          if (task.status !== 'allocate') task.allocate();
          continue;
        }
      }
      queue[i] = undefined;
      this.count -= 1;
      begin(task);
    }
    while (this.head < queue.length && queue[this.head] === undefined) this.head++;
    if (this.head > 1024 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Tasks wait on a pool that something outside this run (another eventor) holds and will give back. */
  waitsOnBusyPool(): boolean {
    if (this.count === 0) return false;
    return this.readyTasks().some((task) =>
      task.step.acquires.some(([pool]) => this.resources.heldElsewhere(pool)),
    );
  }

  /** Drops every ready task (a stop); returns them. */
  clear(): Task[] {
    const tasks = this.readyTasks();
    this.queue = [];
    this.head = 0;
    this.count = 0;
    return tasks;
  }
}
