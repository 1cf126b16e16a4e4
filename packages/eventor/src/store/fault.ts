/**
 * Fault injection for crash tests: `FLOW_FAULT_KILL=after:N` kills this process with SIGKILL right
 * after the N-th committed transaction of the process, `inside:N` inside it, before it commits.
 * Read once; unset in normal use, where a store pays one comparison per transaction.
 */
export const FAULT_KILL = parseFaultKill(process.env.FLOW_FAULT_KILL);

let transactionsBegun = 0;

function parseFaultKill(value: string | undefined): { when: 'after' | 'inside'; at: number } | undefined {
  const match = value === undefined ? null : /^(after|inside):(\d+)$/.exec(value);
  return match ? { when: match[1] as 'after' | 'inside', at: Number(match[2]) } : undefined;
}

/** Runs `commit` (a whole transaction), killing the process inside or after it when FLOW_FAULT_KILL says so. */
export function withFaultKill<T>(commit: (inside: () => void) => T): T {
  if (FAULT_KILL === undefined) return commit(() => {});
  const number = ++transactionsBegun;
  const kill = number === FAULT_KILL.at ? () => process.kill(process.pid, 'SIGKILL') : () => {};
  const result = commit(FAULT_KILL.when === 'inside' ? kill : () => {});
  if (FAULT_KILL.when === 'after') kill();
  return result;
}

/** withFaultKill for a transaction that answers with a promise: `after` kills once it has committed. */
export async function withFaultKillAsync<T>(commit: (inside: () => void) => Promise<T>): Promise<T> {
  if (FAULT_KILL === undefined) return commit(() => {});
  const number = ++transactionsBegun;
  const kill = number === FAULT_KILL.at ? () => process.kill(process.pid, 'SIGKILL') : () => {};
  const result = await commit(FAULT_KILL.when === 'inside' ? kill : () => {});
  if (FAULT_KILL.when === 'after') kill();
  return result;
}
