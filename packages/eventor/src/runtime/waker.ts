import { type Clock, sleepUntil } from './clock.js';

/**
 * How the run loop waits for something to happen (a step ended, a trigger came, a pool was
 * released, a stop) without polling. A wake() while nothing waits (during a commit) is kept: the
 * next wait returns at once, so nothing that came in between is slept through.
 */
export class Waker {
  private wakeup: (() => void) | undefined;
  private wokenEarly = false;

  constructor(private readonly clock: Clock) {}

  wake(): void {
    const wakeup = this.wakeup;
    this.wakeup = undefined;
    if (wakeup) wakeup();
    else this.wokenEarly = true;
  }

  /** Forgets an early wake: the pass about to run sees whatever caused it. */
  reset(): void {
    this.wokenEarly = false;
  }

  /** Resolves on the next wake(). */
  wait(): Promise<void> {
    if (this.takeEarlyWake()) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeup = resolve;
    });
  }

  /** Resolves on the next wake() or at `dueAt` of the clock, whichever comes first. */
  async waitUntil(dueAt: number): Promise<void> {
    if (this.takeEarlyWake()) return;
    await sleepUntil(this.clock, dueAt, (wake) => {
      this.wakeup = wake;
    });
    this.wakeup = undefined;
  }

  /** Resolves true on the next wake(), or false after `realMs` of real time. */
  waitWithin(realMs: number): Promise<boolean> {
    if (this.takeEarlyWake()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeup = undefined;
        resolve(false);
      }, realMs);
      this.wakeup = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }

  private takeEarlyWake(): boolean {
    const woken = this.wokenEarly;
    this.wokenEarly = false;
    return woken;
  }
}
