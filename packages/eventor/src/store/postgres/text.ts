/**
 * Names as PostgreSQL holds them. A name (of a run, flow, step, event, assoc, or a sequence) may hold
 * any character but a lone surrogate, NUL included, and a file store keeps it as it is; PostgreSQL
 * text cannot hold NUL at all. So NUL is written as U+0001 '0', and U+0001 itself as U+0001 '1':
 * one-to-one, and in the same code-point order, so equality, keys and ORDER BY ... COLLATE "C" mean
 * what they mean on a file. A name without either character (nearly all) is stored unchanged.
 */
import type { RunRow, TaskRow } from '../types.js';

const NUL = '\u0000';
const ESC = '\u0001';

/** A name as PostgreSQL stores it. */
export function toDb(name: string): string {
  if (!name.includes(NUL) && !name.includes(ESC)) return name;
  // ESC first: the ESC that stands for a NUL must not be escaped again
  return name.replaceAll(ESC, `${ESC}1`).replaceAll(NUL, `${ESC}0`);
}

/** A stored name as it was given. */
export function fromDb(stored: string): string {
  if (!stored.includes(ESC)) return stored;
  const [head, ...escaped] = stored.split(ESC);
  return head + escaped.map((part) => (part[0] === '0' ? NUL : ESC) + part.slice(1)).join('');
}

/** toDb of a name that may be absent. */
export function toDbOrNull(name: string | null | undefined): string | null {
  return name === null || name === undefined ? null : toDb(name);
}

/** A run row with its id and flow name as given. */
export function runFromDb(row: RunRow | undefined): RunRow | undefined {
  if (row === undefined || (!row.id.includes(ESC) && !row.name.includes(ESC))) return row;
  return { ...row, id: fromDb(row.id), name: fromDb(row.name) };
}

/** A task row with its run, step and sequence as given. */
export function taskFromDb<T extends Pick<TaskRow, 'runId' | 'step' | 'sequence'>>(row: T): T {
  if (!row.runId.includes(ESC) && !row.step.includes(ESC) && !row.sequence.includes(ESC)) return row;
  return { ...row, runId: fromDb(row.runId), step: fromDb(row.step), sequence: fromDb(row.sequence) };
}
