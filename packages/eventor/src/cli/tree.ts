import { runTree } from '../inspect/tree.js';
import type { TreeDescription } from '../model/tree.js';
import type { RunRow } from '../store/types.js';
import { LookupError } from './command.js';

/** The tree a run was written as, or undefined for a plain eventor run; LookupError when it is damaged. */
export function storedTree(run: RunRow): TreeDescription | undefined {
  const stored = runTree(run);
  if ('error' in stored) {
    throw new LookupError(`${stored.error} Pass --compiled to look at the eventor steps it was compiled to.`);
  }
  return 'tree' in stored ? stored.tree : undefined;
}
