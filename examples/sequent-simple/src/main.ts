import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type RunResult, Sequent, StepStatus } from '@flow/sequent';

export interface SimpleOutcome {
  result: RunResult;
  /** What each step said it did, in the order it did it. */
  lines: string[];
  /** `step/sequence` of the leaf tasks, oldest first. */
  executed: string[];
}

/**
 * The seed's simple example: s1 repeats twice; in each iteration s11 repeats twice (s111, then
 * s112), then s12 runs; when s1 is done, s2 runs.
 */
export async function runSimple(
  store = join(mkdtempSync(join(tmpdir(), 'sequent-simple-')), 'simple.run.db'),
) {
  const lines: string[] = [];
  const flow = new Sequent({ name: 'simple', store });
  const prog = (progname: string) => {
    lines.push(`doing what ${progname} is doing (${flow.getStepName()}/${flow.getStepSequence()})`);
    return progname;
  };

  const s1 = flow.addStep('s1', { repeats: [1, 2] });
  const s11 = s1.addStep('s11', { repeats: [1, 2] });
  const s111 = s11.addStep('s111', { func: prog, args: ['prog1'] });
  s11.addStep('s112', { func: prog, args: ['prog2'], requires: [[s111, StepStatus.success]] });
  s1.addStep('s12', { func: prog, args: ['prog3'], requires: [[s11, StepStatus.success]] });
  flow.addStep('s2', { func: prog, args: ['prog4'], requires: [[s1, StepStatus.success]] });

  try {
    const result = await flow.run();
    const executed = flow.tasks().map((task) => `${task.step}/${task.sequence}`);
    return { result, lines, executed } satisfies SimpleOutcome;
  } finally {
    flow.close();
  }
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { result, lines } = await runSimple();
  for (const line of lines) process.stdout.write(`${line}\n`);
  process.stdout.write(`Processing finished with: ${result.status}\n`);
  process.exitCode = result.ok ? 0 : 1;
}
