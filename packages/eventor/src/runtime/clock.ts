import { formatValue } from '../describe.js';
import { type Duration, parseDuration } from '../duration.js';
import { FlowConfigError } from '../errors.js';

/** Wall time in ms; read through one function so tests with fake timers see one clock. */
export function now(): number {
  return Date.now();
}

/** A timer armed on a clock; `cancel()` is idempotent. */
export interface ClockTimer {
  readonly dueAt: number;
  cancel(): void;
}

/** Where the engine reads the time and arms every timer it needs (delays, backoffs, timeouts). */
export interface Clock {
  now(): number;
  /** Calls `fn` once the clock reaches `dueAt` (soon, if that is already past); any distance works. */
  at(dueAt: number, fn: () => void): ClockTimer;
}

/** Node's setTimeout takes at most 2^31-1 ms (about 24.8 days); a longer wait fires at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

class SystemTimer implements ClockTimer {
  private handle: NodeJS.Timeout | undefined;
  constructor(
    readonly dueAt: number,
    private readonly fn: () => void,
  ) {
    this.arm();
  }

  private arm(): void {
    const wait = Math.max(0, this.dueAt - Date.now());
    if (wait <= MAX_TIMEOUT_MS) {
      // setTimeout runs on a monotonic clock that Date.now() can trail by a millisecond or so: a
      // timer that fires before its due time by Date.now() waits out the rest
      this.handle = setTimeout(() => (Date.now() < this.dueAt ? this.arm() : this.fn()), wait);
      return;
    }
    // re-armed in chunks, so a wait of months or years stays one pending timer
    this.handle = setTimeout(() => this.arm(), MAX_TIMEOUT_MS);
  }

  cancel(): void {
    clearTimeout(this.handle);
  }
}

/** The default clock: Date.now() and setTimeout. */
export const systemClock: Clock = {
  now: () => Date.now(),
  at: (dueAt, fn) => new SystemTimer(dueAt, fn),
};

/** A promise that resolves at `dueAt` or when `wake` is called, whichever comes first. */
export function sleepUntil(clock: Clock, dueAt: number, register: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.at(dueAt, finish);
    function finish() {
      timer.cancel();
      resolve();
    }
    register(finish);
  });
}

export interface TestClockOptions {
  /** Where virtual time starts: a Date, ms since the epoch, or an ISO string; default now. */
  start?: Date | number | string;
  /**
   * Real time that running steps, all with a timeout, get to end before the clock jumps past their
   * timeouts (default '100ms'): raise it when a test's steps really work longer than that.
   */
  settle?: Duration;
}

class VirtualTimer implements ClockTimer {
  done = false;
  constructor(
    readonly dueAt: number,
    readonly fn: () => void,
    private readonly remove: (timer: VirtualTimer) => void,
  ) {}
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.remove(this);
  }
}

/**
 * Virtual time for tests: an Eventor (or Sequent) given `clock: new TestClock()` reads every due
 * time from it, and whenever nothing can run before the next due time, jumps the clock there instead
 * of waiting, so a flow with a 30-day delay runs in milliseconds.
 * @example
 * const clock = new TestClock({ start: '2026-01-01T00:00:00Z' });
 * const ev = new Eventor({ store, clock });
 * await ev.run(); // a delay of '6h' fires at once; clock.now() is 6 h later
 */
export class TestClock implements Clock {
  private time: number;
  /** Real ms that running steps get to end before the clock jumps past their timeouts. */
  readonly settleMs: number;
  /** Pending timers, sorted by due time, then by arming order. */
  private readonly timers: VirtualTimer[] = [];
  private readonly remove = (timer: VirtualTimer) => {
    const index = this.timers.indexOf(timer);
    if (index >= 0) this.timers.splice(index, 1);
  };

  constructor(options: TestClockOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new FlowConfigError(
        `TestClock options must be an object such as { start: '2026-01-01T00:00:00Z' }; got ${formatValue(options)}.`,
      );
    }
    this.time = startTime(options.start);
    this.settleMs =
      options.settle === undefined ? 100 : parseDuration(options.settle, 'TestClock option "settle"');
  }

  /** Virtual time, in ms since the epoch. */
  now(): number {
    return this.time;
  }

  /** Moves virtual time on by `duration`; what falls due on the way fires in due-time order. */
  advance(duration: Duration): void {
    this.advanceTo(this.time + parseDuration(duration, 'TestClock.advance(duration)'));
  }

  /** Arms a timer on virtual time: how the engine waits on this clock. */
  at(dueAt: number, fn: () => void): ClockTimer {
    const timer = new VirtualTimer(dueAt, fn, this.remove);
    let low = 0;
    let high = this.timers.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.timers[mid] as VirtualTimer).dueAt <= dueAt) low = mid + 1;
      else high = mid;
    }
    this.timers.splice(low, 0, timer);
    // a timer already due fires on a later turn of the event loop, as setTimeout(fn, 0) would
    if (dueAt <= this.time) setImmediate(() => this.fireDue());
    return timer;
  }

  /** Moves virtual time on to `time` (ms since the epoch; never back), firing what falls due in order. */
  advanceTo(time: number): void {
    if (typeof time !== 'number' || Number.isNaN(time)) {
      throw new FlowConfigError(
        `TestClock.advanceTo(time) takes ms since the epoch, such as Date.parse('2026-01-02T00:00:00Z'); got ${formatValue(time)}.`,
      );
    }
    for (;;) {
      const next = this.timers[0];
      if (next === undefined || next.dueAt > time) break;
      this.timers.shift();
      next.done = true;
      if (next.dueAt > this.time) this.time = next.dueAt;
      next.fn();
    }
    if (time > this.time) this.time = time;
  }

  private fireDue(): void {
    this.advanceTo(this.time);
  }
}

function startTime(start: unknown): number {
  if (start === undefined) return Date.now();
  const ms =
    start instanceof Date
      ? start.getTime()
      : typeof start === 'number'
        ? start
        : typeof start === 'string'
          ? Date.parse(start)
          : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new FlowConfigError(
      `TestClock option "start" must be a Date, ms since the epoch or an ISO date string such as '2026-01-01T00:00:00Z'; got ${formatValue(start)}.`,
    );
  }
  return ms;
}
