import { formatValue } from '../describe.js';
import { FlowConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RunObserver } from '../runtime/observer.js';
import { endLine, renderFrame, startLine, taskLine } from './render.js';
import { type ProgressGroup, ProgressState } from './state.js';

/** What `run({ progress })` takes besides `true`. */
export interface ProgressOptions {
  /**
   * How the tree groups the flow's steps into rows; without it every step is a row of its own.
   * Sequent passes its containers, so their steps nest and their bookkeeping steps stay hidden.
   * @example
   * await ev.run({ progress: { groups: [{ name: 'load' }, { name: 'load_users', parent: 'load', label: 'users' }] } });
   */
  groups?: readonly ProgressGroup[];
}

export interface ProgressViewOptions extends ProgressOptions {
  /** Where to draw; default process.stderr, so a program's stdout stays its own. */
  stream?: NodeJS.WriteStream;
  /** Told (once, at warn) when drawing fails; the run itself goes on. */
  logger?: Logger;
  /** Milliseconds between redraws on a terminal (default 100). */
  intervalMs?: number;
}

export type ProgressView = Required<
  Pick<RunObserver, 'runStarted' | 'taskStarted' | 'taskEnded' | 'runEnded'>
> & {
  /** Stops redrawing, draws the last frame and shows the cursor again; idempotent. */
  close(): void;
};

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const CLEAR_LINE = '\x1b[2K';
const CLEAR_BELOW = '\x1b[J';

/**
 * A live view of a run. On a terminal: a tree of steps with done / running / failed counts and
 * elapsed time, redrawn in place at most every `intervalMs`, and a final frame when the run ends.
 * Elsewhere (a pipe, a CI log): one plain line per finished task and a summary at the end.
 * @example
 * const view = createProgressView({ logger });
 * await ev.run({ observer: view }); // what run({ progress: true }) does
 * view.close();
 */
export function createProgressView(options: ProgressViewOptions = {}): ProgressView {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const intervalMs = options.intervalMs ?? 100;
  const color = tty && process.env.NO_COLOR === undefined;
  const state = new ProgressState(Date.now(), checkGroups(options.groups));
  let drawnLines = 0;
  let tick = 0;
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let closed = false;
  let broken = false;
  let dirty = false;

  /** A view must never break the run it watches: the first write error is logged, then it goes quiet. */
  const guard = (fn: () => void) => {
    if (broken || closed) return;
    try {
      fn();
    } catch (error) {
      broken = true;
      stopTimer();
      options.logger?.warn({ err: error }, `Progress view stopped drawing: ${(error as Error).message}`);
    }
  };

  const draw = () => {
    const frame = renderFrame(state, {
      now: Date.now(),
      width: stream.columns || 80,
      maxRows: Math.min(40, Math.max(5, (stream.rows || 24) - 2)),
      color,
      tick: tick++,
    });
    const up = drawnLines > 0 ? `\x1b[${drawnLines}A\r` : '';
    stream.write(`${up}${frame.map((line) => `${CLEAR_LINE}${line}\n`).join('')}${CLEAR_BELOW}`);
    drawnLines = frame.length;
    dirty = false;
  };

  const stopTimer = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  const startTimer = () => {
    timer = setInterval(
      () =>
        guard(() => {
          if (dirty || state.totals().running > 0) draw();
        }),
      intervalMs,
    );
    timer.unref();
  };

  const finish = () => {
    stopTimer();
    if (tty) {
      draw();
      stream.write(SHOW_CURSOR);
    } else {
      stream.write(`${endLine(state, Date.now())}\n`);
    }
  };

  return {
    runStarted(info) {
      guard(() => {
        state.start(info, Date.now());
        started = true;
        if (tty) {
          stream.write(HIDE_CURSOR);
          draw();
          startTimer();
        } else {
          stream.write(`${startLine(state, info.steps.length)}\n`);
        }
      });
    },
    taskStarted(task) {
      guard(() => {
        state.taskStarted(task.step, task.sequence, Date.now());
        dirty = true;
      });
    },
    taskEnded(task) {
      guard(() => {
        state.taskEnded(task.step, task.sequence, task.status, task.skipped, Date.now());
        dirty = true;
        if (!tty) stream.write(`${taskLine(state, task, Date.now())}\n`);
      });
    },
    runEnded(outcome) {
      guard(() => {
        state.end(outcome, Date.now());
        finish();
        started = false;
      });
    },
    close() {
      // a run that threw before runEnded still gets its last frame and its cursor back
      guard(() => {
        if (started) finish();
      });
      closed = true;
      stopTimer();
    },
  };
}

/** One observer that tells each of `observers` (undefined ones are left out), in order. */
export function combineObservers(...observers: Array<RunObserver | undefined>): RunObserver {
  const list = observers.filter((o): o is RunObserver => o !== undefined);
  return {
    runStarted: (info) => {
      for (const o of list) o.runStarted?.(info);
    },
    taskStarted: (task) => {
      for (const o of list) o.taskStarted?.(task);
    },
    taskEnded: (task) => {
      for (const o of list) o.taskEnded?.(task);
    },
    runEnded: (outcome) => {
      for (const o of list) o.runEnded?.(outcome);
    },
  };
}

function checkGroups(groups: unknown): readonly ProgressGroup[] | undefined {
  if (groups === undefined) return undefined;
  const bad = (why: string) =>
    new FlowConfigError(
      `run({ progress: { groups } }): ${why}. Give an array of { name, parent?, label?, hides? }, e.g. ` +
        "[{ name: 'load' }, { name: 'load_users', parent: 'load', label: 'users' }].",
    );
  if (!Array.isArray(groups)) throw bad(`groups must be an array; got ${formatValue(groups)}`);
  for (const group of groups as unknown[]) {
    const g = group as Partial<Record<keyof ProgressGroup, unknown>> | null;
    const text = (value: unknown) => value === undefined || typeof value === 'string';
    if (
      typeof g !== 'object' ||
      g === null ||
      typeof g.name !== 'string' ||
      !text(g.parent) ||
      !text(g.label)
    )
      throw bad(`a group needs a string name (parent and label strings too); got ${formatValue(group)}`);
    if (
      g.hides !== undefined &&
      !(Array.isArray(g.hides) && g.hides.every((step) => typeof step === 'string'))
    )
      throw bad(`group "${g.name}": hides must be an array of step names; got ${formatValue(g.hides)}`);
  }
  return groups as readonly ProgressGroup[];
}
