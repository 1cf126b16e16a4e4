import { fork, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import * as lib from '../src/index.js';
import { pidAlive, waitFor } from './fixtures/harness.js';
import { buildOrphanFlow } from './fixtures/orphan-flow.mjs';
import { assertDistIsCurrent } from './helpers/child.js';
import { storeSql } from './helpers/raw-store.js';
import { type Sandbox, sandbox, sleep } from './helpers/sandbox.js';

const ORPHAN_FLOW = fileURLToPath(new URL('./fixtures/orphan-flow.mjs', import.meta.url));

beforeAll(() => assertDistIsCurrent());

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/**
 * Runs the orphan flow (one step `work`) in a child engine on the built package, and SIGKILLs the
 * engine once the step has started its grandchild. Returns the pids the step wrote to its marker.
 */
async function killEngineWhileStepRuns(box: Sandbox, kind: 'command' | 'process') {
  const { engine, exited, marker, leader, grandchild } = await startEngine(box, kind);
  engine.kill('SIGKILL');
  await exited;
  return { marker, leader, grandchild };
}

/** Starts the orphan flow in a child engine; resolves once its step has started its grandchild. */
async function startEngine(box: Sandbox, kind: 'command' | 'process', then?: 'exit') {
  const marker = box.path('marker');
  const engine = fork(ORPHAN_FLOW, [box.store, kind, marker, ...(then ? [then] : [])], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  engine.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    engine.once('exit', (_code, signal) => resolve(signal)),
  );
  onTestFinished(() => killQuietly(engine.pid as number));
  await waitFor(() => existsSync(marker) || engine.exitCode !== null, 20_000, 'the step to start');
  expect(existsSync(marker), `the engine exited first; its stderr:\n${stderr}`).toBe(true);
  const [, leader, grandchild] = readFileSync(marker, 'utf8').trim().split(' ').map(Number) as [
    number,
    number,
    number,
  ];
  onTestFinished(() => {
    killQuietly(leader);
    killQuietly(grandchild);
  });
  return { engine, exited, marker, leader, grandchild };
}

/** Recovers (or continues) the orphan flow in this process; notes which pids still ran when the run started. */
async function rerun(box: Sandbox, kind: 'command' | 'process', runMode: lib.RunMode, watch: number[]) {
  const ev = box.track(
    buildOrphanFlow(lib, { store: box.store, kind, marker: box.path('marker'), runMode, logger: box.logger }),
  );
  let aliveWhenRunStarted: boolean[] | undefined;
  const result = await ev.run({
    observer: {
      runStarted: () => {
        aliveWhenRunStarted = watch.map(pidAlive);
      },
    },
  });
  return { ev, result, aliveWhenRunStarted };
}

function reruns(marker: string): number {
  return readFileSync(marker, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('rerun ')).length;
}

describe('orphaned children of a killed engine', () => {
  it('ends a command (and what it started) that its SIGKILLed engine left running before the recovery reruns it once', async () => {
    const box = sandbox('orphans');
    const { marker, leader, grandchild } = await killEngineWhileStepRuns(box, 'command');
    // nothing else ends them: a silent command does not notice its engine is gone
    await sleep(300);
    expect([pidAlive(leader), pidAlive(grandchild)]).toEqual([true, true]);

    const { ev, result, aliveWhenRunStarted } = await rerun(box, 'command', 'recover', [leader, grandchild]);
    expect(aliveWhenRunStarted).toEqual([false, false]);
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(ev.tasks().map((t) => `${t.recovery}:${t.status}`)).toEqual(['0:active', '1:success']);
    expect(reruns(marker)).toBe(1);
    const warnings = box.logger.at('warn').filter((r) => r.fields.pid === leader);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields).toMatchObject({ step: 'work', sequence: '0', pid: leader });
    expect(warnings[0]?.msg).toContain(
      `Step work[0]: ended its child process (pid ${leader}) and its process group`,
    );
  });

  it('on continue, ends what a process step started when its child has already wound down, then reruns the step once', async () => {
    const box = sandbox('orphans');
    const { marker, leader, grandchild } = await killEngineWhileStepRuns(box, 'process');
    // the step's child notices its engine is gone and exits within about a second; its grandchild runs on
    await waitFor(() => !pidAlive(leader), 5_000, `the process step's child ${leader} to wind down`);
    expect(pidAlive(grandchild)).toBe(true);

    const { ev, result, aliveWhenRunStarted } = await rerun(box, 'process', 'continue', [grandchild]);
    expect(aliveWhenRunStarted).toEqual([false]);
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 0 });
    expect(ev.tasks()).toMatchObject([{ status: 'success', attempts: 2, result: 'rerun' }]);
    expect(reruns(marker)).toBe(1);
    expect(box.logger.at('warn').filter((r) => r.fields.pid === leader)).toHaveLength(1);
  });

  it('leaves alone a process that got the recorded pid later (its start time differs), and forgets the record', async () => {
    const box = sandbox('orphans');
    const { leader, grandchild } = await killEngineWhileStepRuns(box, 'command');
    killQuietly(leader);
    killQuietly(grandchild);
    // a later process leading its own group, as if the orphan's pid had been reused
    const stranger = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const strangerPid = stranger.pid as number;
    onTestFinished(() => killQuietly(strangerPid));
    const [row] = await storeSql<{ ord: number; child: string }>(
      box.store,
      "SELECT ord, child FROM tasks WHERE step = 'work'",
    );
    const recorded = JSON.parse(row?.child ?? '') as { pid: number; start?: string };
    expect(recorded.pid).toBe(leader);
    await storeSql(
      box.store,
      'UPDATE tasks SET child = ? WHERE ord = ?',
      JSON.stringify({ ...recorded, pid: strangerPid }),
      row?.ord,
    );

    const { result } = await rerun(box, 'command', 'recover', []);
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 1 });
    expect(pidAlive(strangerPid)).toBe(true);
    expect(box.logger.at('warn').filter((r) => r.fields.pid === strangerPid)).toEqual([]);
    expect(await storeSql(box.store, 'SELECT count(*) AS n FROM tasks WHERE child IS NOT NULL')).toEqual([
      { n: 0 },
    ]);
  });
});

describe('children of an engine that ends', () => {
  it('end with their process group when the program exits while a command runs', async () => {
    const box = sandbox('orphans');
    const { exited, leader, grandchild } = await startEngine(box, 'command', 'exit');
    expect(await exited).toBe(null);
    await waitFor(
      () => !pidAlive(leader) && !pidAlive(grandchild),
      2_000,
      'the command and its child to end',
    );
  });

  it('end with their process group when a SIGINT that the program does not handle ends it, which still dies of SIGINT', async () => {
    const box = sandbox('orphans');
    const { engine, exited, leader, grandchild } = await startEngine(box, 'process');
    engine.kill('SIGINT');
    expect(await exited).toBe('SIGINT');
    await waitFor(
      () => !pidAlive(leader) && !pidAlive(grandchild),
      2_000,
      'the step child and its child to end',
    );
  });
});
