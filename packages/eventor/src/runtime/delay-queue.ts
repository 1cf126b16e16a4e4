import type { AssocDef } from '../model/flow.js';

export interface PendingDelay {
  id: number;
  assoc: AssocDef;
  sequence: string;
  dueAt: number;
}

/** Pending delays ordered by due time (ties by id); a sorted array is enough at these sizes. */
export class DelayQueue {
  private readonly items: PendingDelay[] = [];

  get size(): number {
    return this.items.length;
  }

  push(delay: PendingDelay): void {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const item = this.items[mid] as PendingDelay;
      if (item.dueAt < delay.dueAt || (item.dueAt === delay.dueAt && item.id < delay.id)) low = mid + 1;
      else high = mid;
    }
    this.items.splice(low, 0, delay);
  }

  peek(): PendingDelay | undefined {
    return this.items[0];
  }

  /** Removes and returns the delays due at or before `time`. */
  takeDue(time: number): PendingDelay[] {
    let count = 0;
    while (count < this.items.length && (this.items[count] as PendingDelay).dueAt <= time) count++;
    return count === 0 ? [] : this.items.splice(0, count);
  }
}
