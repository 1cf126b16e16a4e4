/**
 * Per-step cost of each step kind: inline, worker, process and command (`true`), each as one step
 * fanned out over N sequences in an Eventor with a temp store, at most 2 running at once (the same
 * cap for every kind, so process and command measure start-up overhead, not a fork storm). Two bare
 * baselines run the same way, 2 at a time, in this same process: `child_process.spawn('true')`, and
 * `child_process.fork` of an empty module that answers one IPC message (the floor of any process step:
 * it starts Node; a fifth as many as the steps). A kind and its baseline alternate in rounds of 100
 * steps, so both see the same load.
 *
 * Run alone: `npx tsx packages/eventor/bench/runners.ts` (FLOW_BENCH_RUNNER_STEPS=200 for a quick look).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eventor, type StepOptions } from '../src/index.js';

export interface RunnerBenchRow {
  name: string;
  steps: number;
  ms: number;
  msPerStep: number;
}

export interface RunnerBenchResult {
  cap: number;
  rows: RunnerBenchRow[];
  /** Worker ms per step with the pool warm: a long run's time less a short run's, over the extra steps. */
  workerWarmMsPerStep: number;
  /** command / bare spawn('true'), and process / bare fork, per step. */
  commandRatio: number;
  processRatio: number;
}

const CAP = 2;
const ROUND_STEPS = 100;
/** Targets from issue 3. */
const WORKER_TARGET_MS = 0.5;
const START_RATIO_TARGET = 1.3;

let storeCount = 0;

function row(name: string, steps: number, ms: number): RunnerBenchRow {
  return { name, steps, ms, msPerStep: ms / steps };
}

/** N tasks of one step (fanned out over N sequences, at most CAP at once); the run's wall time. */
async function timeSteps(dir: string, label: string, step: StepOptions, steps: number): Promise<number> {
  const ev = new Eventor({
    name: `bench-${label}`,
    store: join(dir, `${label}-${++storeCount}.run.db`),
    logLevel: 'silent',
    config: { maxConcurrent: CAP },
  });
  const go = ev.addEvent('go');
  ev.addAssoc(go, ev.addStep(label, step));
  for (let i = 0; i < steps; i++) ev.triggerEvent(go, i);
  const start = performance.now();
  const outcome = await ev.run();
  const ms = performance.now() - start;
  const failed = ev.tasks({ status: 'failure', limit: 1 })[0];
  ev.close();
  if (!outcome.ok)
    throw new Error(`bench ${label}: the run failed: ${failed?.error?.message ?? outcome.status}`);
  return ms;
}

/** N children, at most CAP at once, each awaited until its pipes close as the runners do. */
async function timeChildren(start: () => ChildProcess, count: number): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (started < count) {
      started++;
      await new Promise<void>((resolve, reject) => {
        const child = start();
        child.once('error', reject);
        child.once('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`baseline child exited with ${code}`)),
        );
        child.stdout?.resume();
        child.stderr?.resume();
      });
    }
  };
  await Promise.all(Array.from({ length: CAP }, lane));
  return performance.now() - t0;
}

/**
 * Forked children inherit this process's Node flags; under tsx that is its loader, which costs each
 * child far more than the step itself. The bench's step module is plain JS, so its children start
 * as they would under plain `node` (the case of users of the built package).
 */
async function withoutLoaders<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.execArgv;
  const kept: string[] = [];
  for (let i = 0; i < saved.length; i++) {
    const arg = saved[i] as string;
    if (arg === '--require' || arg === '--import' || arg === '--loader' || arg === '--experimental-loader') {
      i++;
      continue;
    }
    if (/^--(require|import|loader|experimental-loader)=/.test(arg)) continue;
    kept.push(arg);
  }
  process.execArgv = kept;
  try {
    return await fn();
  } finally {
    process.execArgv = saved;
  }
}

/** Measures every kind and its baseline, prints the table and returns the figures. */
export async function runRunnerBench(
  steps = Number(process.env.FLOW_BENCH_RUNNER_STEPS ?? 1_000),
): Promise<RunnerBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'flow-bench-runners-'));
  try {
    const modulePath = join(dir, 'steps.mjs');
    // no import of '@flow/eventor' here: that alone costs a child ~0.2 s and would hide the runner's cost
    writeFileSync(modulePath, 'export function step(i) { return i; }\n');
    const answerOnce = join(dir, 'answer-once.mjs');
    writeFileSync(
      answerOnce,
      "process.once('message', (m) => process.send(m, () => process.disconnect()));\n",
    );
    const inlineStep: StepOptions = { func: (i: number) => i, args: [1] };
    const moduleStep = (taskConstruct: 'worker' | 'process'): StepOptions => ({
      module: modulePath,
      export: 'step',
      args: [1],
      config: { taskConstruct },
    });

    await timeSteps(dir, 'warmup', inlineStep, Math.min(200, steps)); // JIT, SQLite
    const inline = row('inline', steps, await timeSteps(dir, 'inline', inlineStep, steps));

    const shortSteps = Math.max(1, Math.min(50, Math.floor(steps / 10)));
    // the short and the long run start alike: both with the pool warm, or both cold if a run's end disposes it
    await timeSteps(dir, 'worker', moduleStep('worker'), shortSteps);
    const workerShort = await timeSteps(dir, 'worker', moduleStep('worker'), shortSteps);
    const worker = row(
      'worker (pooled threads)',
      steps,
      await timeSteps(dir, 'worker', moduleStep('worker'), steps),
    );
    const workerWarmMsPerStep = (worker.ms - workerShort) / Math.max(1, steps - shortSteps);

    const rounds = Math.max(1, Math.round(steps / ROUND_STEPS));
    const perRound = Math.ceil(steps / rounds);
    let spawnMs = 0;
    let commandMs = 0;
    for (let round = 0; round < rounds; round++) {
      spawnMs += await timeChildren(() => spawn('true'), perRound);
      commandMs += await timeSteps(dir, 'command', { command: ['true'] }, perRound);
    }
    const spawnTrue = row("bare spawn('true')", perRound * rounds, spawnMs);
    const command = row("command ['true']", perRound * rounds, commandMs);

    // a bare fork costs what a process step's fork does; a fifth as many give a steady mean
    const forkPerRound = Math.max(1, Math.round(perRound / 5));
    let forkMs = 0;
    let processMs = 0;
    await withoutLoaders(async () => {
      const bareFork = () => {
        const child = fork(answerOnce, [], {
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          serialization: 'advanced',
        });
        child.send({ step: 1 });
        return child;
      };
      for (let round = 0; round < rounds; round++) {
        forkMs += await timeChildren(bareFork, forkPerRound);
        processMs += await timeSteps(dir, 'process', moduleStep('process'), perRound);
      }
    });
    const bareFork = row('bare fork (empty module, IPC)', forkPerRound * rounds, forkMs);
    const processRow = row('process (fork per step)', perRound * rounds, processMs);

    const result: RunnerBenchResult = {
      cap: CAP,
      rows: [inline, worker, command, processRow, spawnTrue, bareFork],
      workerWarmMsPerStep,
      commandRatio: command.msPerStep / spawnTrue.msPerStep,
      processRatio: processRow.msPerStep / bareFork.msPerStep,
    };
    printTable(result, { inline, spawnTrue, bareFork, process: processRow });
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function printTable(
  result: RunnerBenchResult,
  base: {
    inline: RunnerBenchRow;
    spawnTrue: RunnerBenchRow;
    bareFork: RunnerBenchRow;
    process: RunnerBenchRow;
  },
): void {
  const pad = (text: string, width: number) => text.padEnd(width);
  const ratio = (value: number, to: number) => `${(value / to).toFixed(2)}x`;
  const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
  console.log(
    `\n@flow/eventor step kinds: ${result.rows[0]?.steps} steps of each kind (bare fork: ${base.bareFork.steps}), ` +
      'one step fanned out over sequences, ' +
      `maxConcurrent ${result.cap} for every kind and baseline; node ${process.version}, ` +
      `load average ${loadavg()[0]?.toFixed(1)}\n`,
  );
  console.log(
    `${pad('kind', 32)}${pad('total ms', 11)}${pad('ms/step', 10)}${pad('x inline', 11)}` +
      `${pad("x spawn('true')", 17)}${pad('x bare fork', 12)}`,
  );
  for (const r of result.rows) {
    console.log(
      `${pad(r.name, 32)}${pad(r.ms.toFixed(0), 11)}${pad(r.msPerStep.toFixed(3), 10)}` +
        `${pad(ratio(r.msPerStep, base.inline.msPerStep), 11)}${pad(ratio(r.msPerStep, base.spawnTrue.msPerStep), 17)}` +
        `${pad(ratio(r.msPerStep, base.bareFork.msPerStep), 12)}`,
    );
  }
  console.log(
    `\nworker, pool warm:            ${result.workerWarmMsPerStep.toFixed(3)} ms/step ` +
      `(target <= ${WORKER_TARGET_MS} ms: ${verdict(result.workerWarmMsPerStep <= WORKER_TARGET_MS)})`,
  );
  console.log(
    `command / bare spawn('true'): ${result.commandRatio.toFixed(2)}x ` +
      `(target <= ${START_RATIO_TARGET}x: ${verdict(result.commandRatio <= START_RATIO_TARGET)})`,
  );
  console.log(
    `process / bare fork:          ${result.processRatio.toFixed(2)}x ` +
      `(target <= ${START_RATIO_TARGET}x: ${verdict(result.processRatio <= START_RATIO_TARGET)}); ` +
      `to spawn('true') it is ${ratio(base.process.msPerStep, base.spawnTrue.msPerStep)}: a process step starts Node`,
  );
  console.log('Forked children run without the tsx loader, as under plain node.');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runRunnerBench();
}
