import type { ScopedLogger } from '../../logger.js';
import type { RunStore } from '../../store/types.js';
import { isLiveChild, KILL_GRACE_MS } from './children.js';
import { type ChildIdentity, endGroup, groupAlive, orphanState } from './process-group.js';

/** A task's child record as the store keeps it. */
export function encodeChild(child: ChildIdentity): string {
  return JSON.stringify(child);
}

function decodeChild(text: string): ChildIdentity | undefined {
  try {
    const value = JSON.parse(text) as Partial<ChildIdentity> | null;
    if (typeof value?.pid !== 'number' || !Number.isInteger(value.pid) || value.pid <= 1) return undefined;
    if (typeof value.host !== 'string') return undefined;
    return value as ChildIdentity;
  } catch {
    return undefined;
  }
}

/**
 * Before a recovery or continue runs anything: a command or process step that was still running when
 * the engine driving this run was killed may run on, and would run beside its rerun. Each one still
 * running on this host is ended with its process group (SIGTERM, then SIGKILL after the grace), and a
 * warning names its step, sequence and pid. One on another host cannot be reached: a warning says so.
 * The caller holds the run's lease, so whoever recorded these children is gone. Resolves once every
 * orphan has ended.
 */
export async function endOrphans(store: RunStore, logger: ScopedLogger): Promise<void> {
  const ending: Array<Promise<void>> = [];
  for (const row of await store.tasksWithChild()) {
    const key = row.ord;
    const child = decodeChild(row.child);
    if (child !== undefined && isLiveChild(child.pid)) continue; // ours, still tracked by this process
    const state = child === undefined ? 'gone' : orphanState(child);
    if (state === 'gone' || child === undefined) {
      await store.clearTaskChild({ ord: key, pid: child?.pid });
      continue;
    }
    const fields = { step: row.step, sequence: row.sequence, pid: child.pid };
    if (state === 'elsewhere') {
      logger.warn(
        { ...fields, host: child.host },
        `Step ${row.step}[${row.sequence}]: its child process (pid ${child.pid} on host ${child.host}) was ` +
          'started by an engine that is gone and may still be running there; this host cannot end it. ' +
          'Check that host before the step runs again.',
      );
      continue;
    }
    ending.push(
      endGroup(child.pid, KILL_GRACE_MS, () => orphanState(child) === 'running').then(async () => {
        const ended = !groupAlive(child.pid, child.start);
        if (ended) await store.clearTaskChild({ ord: key, pid: child.pid });
        logger.warn(
          fields,
          ended
            ? `Step ${row.step}[${row.sequence}]: ended its child process (pid ${child.pid}) and its process ` +
                'group, left running by an engine that was killed, before running the step again'
            : `Step ${row.step}[${row.sequence}]: its child process (pid ${child.pid}), left running by an ` +
                'engine that was killed, did not end on SIGTERM and SIGKILL; it may run beside the rerun',
        );
      }),
    );
  }
  await Promise.all(ending);
}
