/**
 * Every name sequent compiles onto eventor. A step's path is its eventor step name; bookkeeping
 * events and steps append `#<role>` to the path of the step they serve, and an event mirrored into
 * a container's iterations appends `@<container path>`. User step names may hold neither character.
 */

/** Characters user step names may not contain: the compiled names use them. */
export const RESERVED_CHARS = ['#', '@'] as const;

/** True when `name` holds a character of `RESERVED_CHARS`. */
export function hasReservedChar(name: string): boolean {
  return RESERVED_CHARS.some((char) => name.includes(char));
}

/** A step's path: its name joined to its container's path with `_` (the root's path is ''). */
export function stepPath(parentPath: string, name: string): string {
  return parentPath === '' ? name : `${parentPath}_${name}`;
}

function compiled(path: string, role: string): string {
  return `${path}#${role}`;
}

/** The event fired when the step at `path` reaches `status` (a container's, by its bookkeeping). */
export function statusEvent(path: string, status: 'ready' | 'active' | 'success' | 'failure'): string {
  return compiled(path, status);
}

/** The step's requires hold: it starts on this event (after its delay). */
export function startEvent(path: string): string {
  return compiled(path, 'start');
}

/** The step's requires can no longer hold; a dead step counts as settled for its iteration. */
export function deadEvent(path: string): string {
  return compiled(path, 'dead');
}

/** An iteration of the container at `path` starts (the flow's own is fired by `run()`). */
export function iterEvent(path: string): string {
  return compiled(path, 'iter');
}

/** Every child of the container's iteration succeeded, is dead, or failed as a sibling required. */
export function iterOkEvent(path: string): string {
  return compiled(path, 'iok');
}

/** A child of the container's iteration failed unhandled, and every child has settled. */
export function iterFailEvent(path: string): string {
  return compiled(path, 'ifail');
}

/** The container's last iteration ended well (or it had none). */
export function doneEvent(path: string): string {
  return compiled(path, 'done');
}

/** The container failed, in its own sequence. */
export function failedEvent(path: string): string {
  return compiled(path, 'failed');
}

/** Bookkeeping step that holds the container's acquires and starts its first iteration. */
export function beginStep(path: string): string {
  return compiled(path, 'begin');
}

/** Bookkeeping step that starts the container's next iteration, or ends it. */
export function nextStep(path: string): string {
  return compiled(path, 'next');
}

/** Bookkeeping step that releases a container that ended well and fires its success. */
export function finishStep(path: string): string {
  return compiled(path, 'finish');
}

/** Bookkeeping step that fires the container's failed event in its own sequence. */
export function stopStep(path: string): string {
  return compiled(path, 'stop');
}

/** Bookkeeping step that releases a failed container and fires its failure. */
export function failStep(path: string): string {
  return compiled(path, 'fail');
}

/** `event`, fired in the sequence of the container at `containerPath`, as its iterations see it. */
export function mirroredEvent(event: string, containerPath: string): string {
  return `${event}@${containerPath}`;
}

/** Bookkeeping step that fires the mirrored `event` into every iteration of its container. */
export function mirrorStep(event: string): string {
  return compiled(event, 'mirror');
}

/** The flow runs in this sequence; a container running in S runs its k-th iteration in `S.k`. */
export const FLOW_SEQUENCE = '1';

/** What joins a container's sequence and an iteration's number into the iteration's sequence. */
export const ITERATION_SEPARATOR = '.';

/** The sequence of iteration `k` (from 1) of a container running in sequence `outer`. */
export function iterationSequence(outer: string, k: number): string {
  return `${outer}${ITERATION_SEPARATOR}${k}`;
}

/** An iteration's sequence split into its container's sequence and its number. */
export function splitSequence(sequence: string): { outer: string; k: number } {
  const cut = sequence.lastIndexOf(ITERATION_SEPARATOR);
  return { outer: sequence.slice(0, cut), k: Number(sequence.slice(cut + 1)) };
}
