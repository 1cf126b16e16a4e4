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

/** A node of a run's tree (a sequent flow), as `/api/runs/:id` gives it under `tree`. */
export interface TreeNodeJson {
  path: string;
  name: string;
  kind: 'leaf' | 'container';
  /** The drawing's id: the SVG element is `n_<node>`. */
  node: string;
  /** What it came to in the run's current recovery (see `eventor show`). */
  state: string;
  /** The container it is in. */
  parent?: string;
  /** A leaf's eventor step: its tasks are the leaf's. */
  step?: string;
  /** A repeating container's iterations, and "3 iterations: 1.1 success, ..." */
  iterations?: Array<{ sequence: string; state: string }>;
  summary?: string;
}

/** A run's tree: its nodes, and the key of its drawing (it changes when an iteration ends). */
export interface TreeJson {
  key: string;
  nodes: TreeNodeJson[];
}
