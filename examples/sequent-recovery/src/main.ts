import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RunMode, type RunResult, Sequent, StepStatus } from '@flow/sequent';

interface BuildOptions {
  store: string;
  runMode?: RunMode;
  stepToFail?: string;
  iterationToFail?: string;
  lines: string[];
}

/** The seed's recovery example: `prog` fails when it runs as `stepToFail` in `iterationToFail`. */
function buildFlow({ store, runMode = RunMode.restart, stepToFail, iterationToFail, lines }: BuildOptions) {
  const flow = new Sequent({ name: 'recovery', store, runMode });
  const prog = (progname: string) => {
    const stepName = flow.getStepName();
    const stepSequence = flow.getStepSequence();
    lines.push(`doing what ${progname} is doing (${stepName}/${stepSequence})`);
    if (stepName === stepToFail && stepSequence === iterationToFail) {
      throw new Error(`${progname} failed (${stepName}/${stepSequence})`);
    }
    return progname;
  };
  const s1 = flow.addStep('s1', { repeats: [1, 2] });
  const s11 = s1.addStep('s11', { repeats: [1, 2] });
  const s111 = s11.addStep('s111', { func: prog, args: ['prog1'] });
  s11.addStep('s112', { func: prog, args: ['prog2'], requires: [[s111, StepStatus.success]] });
  s1.addStep('s12', { func: prog, args: ['prog3'], requires: [[s11, StepStatus.success]] });
  flow.addStep('s2', { func: prog, args: ['prog4'], requires: [[s1, StepStatus.success]] });
  return flow;
}

export interface RunReport {
  result: RunResult;
  lines: string[];
  /** `step/sequence` of the leaf tasks this run called (recovery skips left out). */
  executed: string[];
  error?: string;
}

async function runOnce(options: Omit<BuildOptions, 'lines'>): Promise<RunReport> {
  const lines: string[] = [];
  const flow = buildFlow({ ...options, lines });
  try {
    const result = await flow.run();
    const tasks = flow.tasks({ recovery: result.recovery }).filter((task) => !task.skipped);
    const error = tasks.find((task) => task.status === 'failure')?.error?.message;
    return {
      result,
      lines,
      executed: tasks.map((task) => `${task.step}/${task.sequence}`),
      ...(error ? { error } : {}),
    };
  } finally {
    flow.close();
  }
}

/** Fails `s1_s11_s111` in `1.2.2`, then recovers the same run from the same store file. */
export async function runRecovery(
  store = join(mkdtempSync(join(tmpdir(), 'sequent-recovery-')), 'recovery.run.db'),
) {
  const failing = await runOnce({ store, stepToFail: 's1_s11_s111', iterationToFail: '1.2.2' });
  const recovering = await runOnce({ store, runMode: RunMode.recover });
  return { failing, recovering };
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { failing, recovering } = await runRecovery();
  const print = (title: string, report: RunReport) => {
    process.stdout.write(`${title}\n`);
    for (const line of report.lines) process.stdout.write(`  ${line}\n`);
    if (report.error) process.stdout.write(`  ${report.error}\n`);
    process.stdout.write(`  Processing finished with: ${report.result.status}\n`);
  };
  print('first run (restart):', failing);
  print(`second run (recover ${recovering.result.recovery}):`, recovering);
  process.exitCode = recovering.result.ok ? 0 : 1;
}
