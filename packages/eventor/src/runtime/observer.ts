/** Follows a run as it goes (the live progress view uses it); every method is optional. */
export interface RunObserver {
  runStarted?(info: { runId: string; recovery: number; steps: readonly string[] }): void;
  taskStarted?(task: { step: string; sequence: string; attempt: number }): void;
  taskEnded?(task: { step: string; sequence: string; status: 'success' | 'failure'; skipped: boolean }): void;
  runEnded?(outcome: { ok: boolean; status: 'success' | 'failure' | 'incomplete' }): void;
}
