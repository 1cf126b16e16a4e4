import type { AssocTarget } from './assoc.js';
import type { Expr } from './expr.js';
import type { TreeDescription } from './tree.js';

/**
 * The flow's shape as kept in the store, for tools that inspect and draw runs, and to tell what
 * changed when a run is taken up again.
 */
export interface FlowShape {
  /** Absent in shapes stored before version 2. */
  version?: number;
  events: Array<{ name: string; expr?: Expr }>;
  /** Empty and default parts are left out: flows can have many thousand steps. */
  steps: Array<{
    name: string;
    kind: string;
    triggers?: Record<string, string[]>;
    acquires?: Array<{ pool: string; amount: number }>;
    maxConcurrent?: number;
    /** The function's name. */
    func?: string;
    module?: string;
    export?: string;
    command?: string | string[];
    cwd?: string;
    /** Fingerprints of env and args, not the values: they may be large, secret or not JSON. */
    env?: string;
    args?: string;
    recovery?: Record<string, string>;
    releases?: Array<{ pool: string; amount: number }>;
    config?: {
      stopOnException?: boolean;
      taskConstruct?: string;
      timeoutMs?: number;
      retries?: number;
      backoffMs?: number;
    };
  }>;
  assocs: Array<{ event: string; targets: AssocTarget[]; delayMs?: number }>;
  /** The tree the flow was written as, when a library compiled one onto eventor (describeTree). */
  tree?: TreeDescription;
}
