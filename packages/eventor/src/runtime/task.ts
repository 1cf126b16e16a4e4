import type { TaskStatus } from '../model/status.js';
import type { StepDef } from '../model/step.js';
import type { Changes, TaskWrite, TriggerSource } from '../store/types.js';
import type { ClockTimer } from './clock.js';

/**
 * One task (a step in a sequence, in this recovery): its state, the moves between states, and
 * nothing else. Every move marks the task for the next commit, which writes its state as it is then:
 * no caller keeps track of what was written.
 */
export class Task {
  status: TaskStatus = 'ready';
  attempts = 0;
  /** The result as the store keeps it (see store/result-codec.ts). */
  result: Buffer | null = null;
  /** JSON of the latest failed attempt's error. */
  error: string | null = null;
  skipped = false;
  /** A row exists, or the commit under way inserts it. */
  persisted = false;
  /** Marked for the next commit. */
  marked = false;
  /** Skipped by recovery: the earlier attempt whose stored result it takes. */
  resultFrom: number | undefined;
  /** The attempt's timeout while it runs, its backoff while it waits to retry. */
  timer: ClockTimer | undefined;

  constructor(
    readonly step: StepDef,
    readonly sequence: string,
    readonly ord: number,
    private readonly batch: CommitBatch,
  ) {}

  /** A task loaded from the store as it was left. */
  static loaded(step: StepDef, row: { sequence: string; ord: number; attempts: number }, batch: CommitBatch) {
    const task = new Task(step, row.sequence, row.ord, batch);
    task.persisted = true;
    task.attempts = row.attempts;
    return task;
  }

  /** New in this pass: the next commit inserts it. */
  static created(step: StepDef, sequence: string, ord: number, batch: CommitBatch): Task {
    const task = new Task(step, sequence, ord, batch);
    batch.mark(task);
    return task;
  }

  /** Back to waiting (a task found allocate or active after a crash, or one whose retry is due). */
  ready(): void {
    this.move('ready');
  }

  /** Waits for a pool. */
  allocate(): void {
    this.move('allocate');
  }

  /** A new attempt starts. */
  begin(): void {
    this.attempts += 1;
    this.move('active');
  }

  succeed(result: Buffer | null): void {
    this.result = result;
    this.error = null;
    this.move('success');
  }

  /** An attempt failed: with `retry` the task waits to run again, else it has failed. */
  fail(errorJson: string, retry: boolean): void {
    this.error = errorJson;
    this.move(retry ? 'ready' : 'failure');
  }

  /** Recovery skips it: it counts as a success without running; `earlier` is the attempt it stands for. */
  skip(earlier: { ord: number; attempts: number; status: TaskStatus }): void {
    this.skipped = true;
    this.attempts = earlier.attempts;
    if (earlier.status === 'success') this.resultFrom = earlier.ord;
    this.move('success');
  }

  get finished(): boolean {
    return this.status === 'success' || this.status === 'failure';
  }

  private move(status: TaskStatus): void {
    this.status = status;
    this.batch.mark(this);
  }
}

/** What the next commit writes: the tasks that moved, and the triggers and delays of the pass. */
export class CommitBatch {
  private tasks: Task[] = [];
  private triggers: Changes['triggers'] = [];
  private acted: Changes['acted'] = [];
  private delays: Changes['delays'] = [];
  private firedDelays: Changes['firedDelays'] = [];

  mark(task: Task): void {
    if (task.marked) return;
    task.marked = true;
    this.tasks.push(task);
  }

  trigger(event: string, sequence: string, source?: TriggerSource): void {
    this.triggers.push({ event, sequence, acted: true, source });
  }

  /** A trigger committed earlier (outside the loop, or before a crash) was acted on. */
  actedOn(event: string, sequence: string): void {
    this.acted.push({ event, sequence });
  }

  delay(assoc: string, sequence: string, dueAt: number, fired: boolean): void {
    this.delays.push({ assoc, sequence, dueAt, fired });
  }

  delayFired(assoc: string, sequence: string): void {
    this.firedDelays.push({ assoc, sequence });
  }

  /** The changes as of now, to commit; the batch starts empty again. */
  take(now: number): Changes {
    const tasks: TaskWrite[] = new Array(this.tasks.length);
    for (let i = 0; i < this.tasks.length; i++) {
      const task = this.tasks[i] as Task;
      task.marked = false;
      tasks[i] = {
        ord: task.ord,
        step: task.step.name,
        sequence: task.sequence,
        status: task.status,
        attempts: task.attempts,
        result: task.result,
        error: task.error,
        skipped: task.skipped,
        insert: !task.persisted,
        resultFrom: task.resultFrom,
      };
      task.persisted = true;
    }
    const changes: Changes = {
      now,
      tasks,
      triggers: this.triggers,
      acted: this.acted,
      delays: this.delays,
      firedDelays: this.firedDelays,
    };
    this.tasks = [];
    this.triggers = [];
    this.acted = [];
    this.delays = [];
    this.firedDelays = [];
    return changes;
  }

  get isEmpty(): boolean {
    return (
      this.tasks.length === 0 &&
      this.triggers.length === 0 &&
      this.acted.length === 0 &&
      this.delays.length === 0 &&
      this.firedDelays.length === 0
    );
  }
}
