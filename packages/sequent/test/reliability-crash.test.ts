import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkInvariants,
  dropStore,
  readExecutions,
  readStore,
  runChild,
  scenarioStore,
} from '../../eventor/test/fixtures-reliability/kit.mjs';
import * as lib from '../src/index.js';
import {
  buildFlow,
  CHILD_SCRIPT,
  EXECUTIONS,
  expectedTasks,
  type LeafSpec,
  runScenario,
  runSeed,
  type ScenarioReport,
  type SequentSpec,
} from './fixtures-reliability/harness.mjs';

const CI_SEEDS = Array.from({ length: 10 }, (_, i) => i + 1);

/** The children run the built packages: sequent's dist and the eventor dist it imports. */
beforeAll(() => {
  for (const name of ['sequent', 'eventor']) {
    const root = fileURLToPath(new URL(`../../${name}/`, import.meta.url));
    if (
      !existsSync(join(root, 'dist', 'index.js')) ||
      newest(join(root, 'src')) > newest(join(root, 'dist'))
    ) {
      throw new Error(
        `packages/${name}/dist is missing or older than src, so the child processes would run stale code: ` +
          `build with \`pnpm --filter @flow/${name} build\` (the root \`pnpm test\` builds first).`,
      );
    }
  }
});

function newest(dir: string): number {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return time;
}

function explain(report: ScenarioReport): string {
  const plan = report.attempts.map((a) => `${a.runMode} ${a.kill} -> ${a.outcome}`).join(', ');
  return `sequent seed ${report.seed}: ${report.flow}; ${plan}`;
}

const sync: LeafSpec = { kind: 'sync', sleepMs: 0 };
const quick: LeafSpec = { kind: 'async', sleepMs: 2 };
/** 3 x 3 iterations of the inner loop's two leaves a -> b; e after each inner loop; after at the end. */
function nested(runId: string, leaves: Partial<SequentSpec['leaves']> = {}): SequentSpec {
  return {
    seed: 0,
    runId,
    outer: 3,
    inner: 3,
    leaves: { a: quick, b: sync, e: quick, after: sync, ...leaves },
    bDelayMs: 0,
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return existsSync(`/proc/${pid}`);
  }
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return condition();
}

describe('sequent crash-point harness', () => {
  // a seeded nested flow, killed at a seeded point (after or inside the N-th commit, inside the K-th
  // leaf call, at a random time; sometimes again in a recovery), recovered here: every leaf task
  // that succeeded is skipped, the others run once, nothing twice (fixtures-reliability/harness.mjs)
  it.concurrent.each(CI_SEEDS)(
    'seed %i: a nested flow killed at its seeded point and recovered keeps every crash invariant',
    async (seed) => {
      const report = await runSeed(seed, { lib });
      expect(report.failures, explain(report)).toEqual([]);
    },
    90_000,
  );
});

describe.concurrent('sequent flows with nested repeats killed at chosen points', () => {
  it.each([
    { kind: 'call', at: 1 },
    { kind: 'call', at: 17 },
    { kind: 'call', at: 22 }, // inside the last leaf, after/1
    { kind: 'after', at: 9 },
    { kind: 'inside', at: 14 },
    { kind: 'inside', at: 33 },
  ] as const)(
    'recovers 3 x 3 iterations of two leaves killed at $kind:$at',
    async (kill) => {
      const spec = nested(`nested-${kill.kind}-${kill.at}`);
      const report = await runScenario({ ...spec, seed: kill.at }, [kill], { lib });
      expect(report.failures, explain(report)).toEqual([]);
      expect(report.attempts[0]?.outcome).toBe('killed');
      // the leaves the killed run had finished are skipped, in iteration order up to the kill
      const skipped = (report.tasks ?? []).filter((t) => t.recovery === 1 && t.skipped);
      const calledBefore = (report.executions ?? []).filter((c) => c.r === 0).length;
      expect(skipped.length).toBeLessThanOrEqual(calledBefore);
    },
    60_000,
  );

  it('recovers a nested flow killed in its first run and again in its first recovery', async () => {
    const report = await runScenario(
      { ...nested('nested-twice'), seed: 99 },
      [
        { kind: 'call', at: 10 },
        { kind: 'call', at: 7 },
      ],
      { lib },
    );
    expect(report.failures, explain(report)).toEqual([]);
    expect(report.attempts.map((a) => a.outcome)).toEqual(['killed', 'killed', 'success']);
    expect(Math.max(...(report.tasks ?? []).map((t) => t.recovery))).toBe(2);
  }, 60_000);
});

describe.concurrent('sequent worker, process and command leaves killed with their engine', () => {
  it.for(['worker', 'process', 'command'] as const)(
    'reruns a %s leaf that was running in an inner iteration when its engine was killed',
    { timeout: 60_000 },
    async (kind, context) => {
      const dir = mkdtempSync(join(tmpdir(), 'flow-sequent-reliability-'));
      context.onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const spec: SequentSpec = {
        ...nested(`leaf-${kind}`, { b: { kind, sleepMs: 0, firstRunMs: 20_000 } }),
        outer: 2,
        inner: 2,
      };
      const specPath = join(dir, 'spec.json');
      const store = scenarioStore(dir);
      context.onTestFinished(() => dropStore(store));
      const log = join(dir, EXECUTIONS);
      writeFileSync(specPath, JSON.stringify(spec));
      const running = () => readExecutions(log).find((call) => call.s === 'c_d_b');
      const child = await runChild(CHILD_SCRIPT, [specPath, store, dir, 'restart'], {
        killWhen: () => running() !== undefined,
      });
      expect(child.killed).toBe(true);
      const call = running();
      expect(call?.q).toBe('1.1.1');
      if (kind !== 'worker') {
        // a process leaf's child ends within ~1 s once its channel closes; a silent command runs out
        // its 20 s, so it is killed here: the recovery must not depend on it being gone
        const gone = await waitFor(() => !pidAlive(call?.pid as number), kind === 'process' ? 5_000 : 500);
        if (kind === 'process') expect(gone).toBe(true);
        else if (!gone) process.kill(call?.pid as number, 'SIGKILL');
      }
      const flow = buildFlow(lib, spec, { store, dir, runMode: 'recover' });
      try {
        const result = await flow.run();
        expect(result).toMatchObject({ ok: true, status: 'success', recovery: 1 });
        const failures = checkInvariants({
          expected: expectedTasks(spec),
          tasks: flow.tasks(),
          executions: readExecutions(log),
          finalRecovery: 1,
        });
        expect(failures).toEqual([]);
        expect(flow.tasks({ step: 'c_d_b' }).map((t) => `${t.sequence}:${t.recovery}:${t.status}`)).toEqual([
          '1.1.1:0:active',
          '1.1.1:1:success',
          '1.1.2:1:success',
          '1.2.1:1:success',
          '1.2.2:1:success',
        ]);
      } finally {
        flow.close();
      }
      expect((await readStore(store, spec.runId))?.integrity).toBe('ok');
    },
  );
});
