/** Statuses a step reaches; `complete` stands for success or failure in triggers and recovery. */
export const StepStatus = {
  ready: 'ready',
  active: 'active',
  success: 'success',
  failure: 'failure',
  complete: 'complete',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

/** What recovery does with a task whose latest earlier attempt reached a status. */
export const StepReplay = { rerun: 'rerun', skip: 'skip' } as const;
export type StepReplay = (typeof StepReplay)[keyof typeof StepReplay];

export const RunMode = { restart: 'restart', recover: 'recover', continue: 'continue' } as const;
export type RunMode = (typeof RunMode)[keyof typeof RunMode];

/** Task statuses as stored; `allocate` is waiting for resources. */
export type TaskStatus = 'ready' | 'allocate' | 'active' | 'success' | 'failure';

export const STEP_STATUSES = Object.values(StepStatus) as StepStatus[];
export const RUN_MODES = Object.values(RunMode) as RunMode[];
