// The JSON the `eventor ui` server sends and its page reads: one definition for both sides. Types
// only, with no imports, so the page's DOM-only type check can read it.

/** An error as the store keeps it: a thrown value's name, message, stack, code and cause. */
export interface ErrorJson {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: ErrorJson;
}

/** One task of a run, as `/api/runs/:id/tasks` lists it. */
export interface TaskJson {
  step: string;
  sequence: string;
  recovery: number;
  status: string;
  skipped: boolean;
  attempts: number;
  durationMs: number | null;
  createdAt: number;
  updatedAt: number;
  result?: unknown;
  error?: ErrorJson;
}
