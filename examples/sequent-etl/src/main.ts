import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RunMode, type RunResult, Sequent, StepStatus, type TaskRecord } from '@flow/sequent';

const script = (name: string) => fileURLToPath(new URL(`../scripts/${name}`, import.meta.url));

/**
 * The seed's motivating flow: A1 and A2 extract data concurrently, B processes the extracts, then
 * C1 and C2 send the result on. Every step is a command; they share a work folder.
 */
export function buildEtl(store: string, work: string, runMode: RunMode = RunMode.restart): Sequent {
  const flow = new Sequent({ name: 'etl', store, runMode });
  const node = process.execPath;
  const a1 = flow.addStep('A1', { command: [node, script('extract.mjs'), 'customers', 'orders'], cwd: work });
  const a2 = flow.addStep('A2', { command: [node, script('extract.mjs'), 'orders', 'customers'], cwd: work });
  const b = flow.addStep('B', {
    command: [node, script('process.mjs')],
    cwd: work,
    requires: [
      [a1, StepStatus.success],
      [a2, StepStatus.success],
    ],
  });
  flow.addStep('C1', {
    command: [node, script('send.mjs'), 'client-1'],
    cwd: work,
    requires: [[b, StepStatus.success]],
  });
  flow.addStep('C2', {
    command: [node, script('send.mjs'), 'client-2'],
    cwd: work,
    requires: [[b, StepStatus.success]],
  });
  return flow;
}

export interface EtlRun {
  result: RunResult;
  /** Leaf tasks of this run's recovery, skipped ones included. */
  tasks: TaskRecord[];
}

async function runEtlOnce(store: string, work: string, runMode: RunMode): Promise<EtlRun> {
  const flow = buildEtl(store, work, runMode);
  try {
    const result = await flow.run();
    return { result, tasks: flow.tasks({ recovery: result.recovery }) };
  } finally {
    flow.close();
  }
}

/**
 * Runs the flow with client-2 down once (C2 fails), then recovers: only C2 runs again. Its files go
 * in `dir`, its state in `store` (a file there, unless another store is given).
 */
export async function runEtl(
  dir = mkdtempSync(join(tmpdir(), 'sequent-etl-')),
  store = join(dir, 'etl.run.db'),
) {
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'fail-once-client-2'), '');
  const first = await runEtlOnce(store, work, RunMode.restart);
  const second = await runEtlOnce(store, work, RunMode.recover);
  const journal = readFileSync(join(work, 'journal.log'), 'utf8').trim().split('\n');
  const delivered = ['client-1', 'client-2'].filter((client) =>
    existsSync(join(work, 'outbox', `${client}.json`)),
  );
  return { first, second, journal, delivered, work };
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { first, second, journal, delivered } = await runEtl();
  const show = (title: string, run: EtlRun) => {
    process.stdout.write(`${title}: ${run.result.status}\n`);
    for (const task of run.tasks) {
      const what = task.skipped ? 'skipped (succeeded before)' : task.status;
      const why = task.status === 'failure' ? ` - ${task.error?.message.split('\n')[0]}` : '';
      process.stdout.write(`  ${task.step.padEnd(3)} ${what}${why}\n`);
    }
  };
  show('first run', first);
  show(`recovery ${second.result.recovery}`, second);
  process.stdout.write(`commands executed:\n${journal.map((line) => `  ${line}`).join('\n')}\n`);
  process.stdout.write(`delivered to: ${delivered.join(', ')}\n`);
  process.exitCode = second.result.ok ? 0 : 1;
}
