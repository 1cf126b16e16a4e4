import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as lib from '../src/index.js';
import type { Reason, StepDiagnosis } from '../src/inspect/diagnose.js';
import { assertBuilt, eventor, eventorOk, tempDir } from './fixtures-cli/cli.js';
import {
  buildCapped,
  buildDelayed,
  buildDemo,
  buildPoolHeld,
  buildStopped,
  buildWaiting,
} from './fixtures-cli/flows.mjs';

beforeAll(() => assertBuilt());

function why(...args: string[]): StepDiagnosis {
  return JSON.parse(eventorOk('why', ...args, '--json')) as StepDiagnosis;
}

function reasonsOf(diagnosis: StepDiagnosis, sequence: string): Reason[] {
  const found = diagnosis.sequences.find((s) => s.sequence === sequence);
  if (!found) throw new Error(`no sequence ${sequence} in ${JSON.stringify(diagnosis)}`);
  return found.reasons;
}

async function failedDemo(): Promise<string> {
  const store = join(tempDir(), 'demo.run.db');
  const ev = buildDemo(lib, { store, param: -9 });
  expect((await ev.run()).status).toBe('failure');
  ev.close();
  return store;
}

describe('eventor why', () => {
  it('names the unhandled failure the run stopped on, and the false part of the expression it waits for', async () => {
    const store = await failedDemo();
    const diagnosis = why(store, 's3');
    expect(diagnosis).toMatchObject({ step: 's3', name: 'demo', recovery: 0, runStatus: 'failure' });
    expect(diagnosis.sequences.map((s) => [s.sequence, s.verdict])).toEqual([['3', 'not-started']]);
    const [stopped, event] = reasonsOf(diagnosis, '3');
    expect(stopped).toMatchObject({
      kind: 'stopped',
      failures: [{ step: 's2', sequence: '3', status: 'failure' }],
    });
    expect(event).toMatchObject({
      kind: 'event',
      event: {
        event: 'run_step3',
        fired: false,
        expr: {
          op: 'and',
          value: false,
          items: [
            { op: 'event', name: 'done_step1', value: true },
            { op: 'event', name: 'done_step2', value: false },
          ],
        },
        inputs: [
          {
            event: 'done_step2',
            fired: false,
            sources: [{ kind: 'step', step: 's2', status: 'success', task: { status: 'failure' } }],
          },
        ],
      },
    });

    const text = eventorOk('why', store, 's3');
    expect(text).toContain('s3[3]: it has not run.');
    expect(text).toContain('The run stopped on an unhandled failure (run status failure):');
    expect(text).toContain(
      's2[3] failed: Step "s2" failed in sequence "3": RangeError: math domain error: cannot take the square root of -9',
    );
    expect(text).toContain('It waits for event run_step3, which has not fired in sequence 3.');
    expect(text).toContain('run_step3 = and(done_step1, done_step2) is false:');
    expect(text).toMatch(/✓ done_step1 fired\n\s+✗ done_step2 not fired/);
    expect(text).toContain('s2 fires it on success; s2[3] ended failure.');
  });

  it('says a step ran, with its status and error, and that recovery skipped it', async () => {
    const store = await failedDemo();
    const failed = why(store, 's2');
    expect(failed.sequences).toEqual([
      {
        sequence: '3',
        verdict: 'ran',
        reasons: [
          { kind: 'ran', task: expect.objectContaining({ step: 's2', status: 'failure', attempts: 1 }) },
        ],
      },
    ]);
    expect(eventorOk('why', store, 's2')).toContain('It ended failure in recovery 0 (attempts: 1).');

    const ev = buildDemo(lib, { store, param: 9, runMode: 'recover' });
    await ev.run();
    ev.close();
    const skipped = why(store, 's1', '--sequence', '3');
    expect(reasonsOf(skipped, '3')).toEqual([
      {
        kind: 'ran',
        task: expect.objectContaining({ status: 'success', skipped: true, recovery: 1 }),
        earlier: expect.objectContaining({ status: 'success', recovery: 0 }),
      },
    ]);
    const text = eventorOk('why', store, 's1');
    expect(text).toContain('Step s1 in run');
    expect(text).toContain('recovery 1, success.');
    expect(text).toContain('It ended success (skipped by recovery) in recovery 1');
    expect(text).toContain('Recovery skipped it: its attempt in recovery 0 ended success.');
  });

  it('names the event a step waits for when nothing in the flow fires it', async () => {
    const store = join(tempDir(), 'waiting.run.db');
    const ev = buildWaiting(lib, { store });
    expect((await ev.run()).status).toBe('success');
    ev.close();
    const diagnosis = why(store, 'publish');
    expect(diagnosis.sequences.map((s) => s.sequence)).toEqual(['nightly']);
    expect(reasonsOf(diagnosis, 'nightly')).toEqual([
      { kind: 'event', event: { event: 'approve', fired: false, sources: [{ kind: 'external' }] } },
    ]);
    const text = eventorOk('why', store, 'publish');
    expect(text).toContain('It waits for event approve, which has not fired in sequence nightly.');
    expect(text).toContain("nothing in the flow fires approve: only triggerEvent(approve, 'nightly') does.");
  });

  it('shows which parts of a nested or/and expression are false, and why each input has not fired', async () => {
    const store = join(tempDir(), 'waiting.run.db');
    const ev = buildWaiting(lib, { store });
    await ev.run();
    ev.close();
    const [reason] = reasonsOf(why(store, 'ship', '--sequence', 'nightly'), 'nightly');
    expect(reason).toMatchObject({
      kind: 'event',
      event: {
        event: 'release',
        expr: {
          op: 'or',
          value: false,
          items: [
            { op: 'event', name: 'approve', value: false },
            {
              op: 'and',
              value: false,
              items: [
                { op: 'event', name: 'built', value: true },
                { op: 'event', name: 'tested', value: false },
              ],
            },
          ],
        },
      },
    });
    const text = eventorOk('why', store, 'ship');
    expect(text).toContain('release = or(approve, and(built, tested)) is false:');
    expect(text).toMatch(
      /✗ approve not fired\n\s+✗ and\(…\) is false:\n\s+✓ built fired\n\s+✗ tested not fired/,
    );
    expect(text).toContain('test fires it on success; test[nightly] ended failure.');
    // the handled failure does not stop the run: no 'stopped' reason
    expect(text).not.toContain('unhandled failure');
  });

  it('names the pool a task waits for and the finished step that kept it (releases: [])', async () => {
    const store = join(tempDir(), 'pool.run.db');
    const ev = buildPoolHeld(lib, { store, poolName: `db-${process.pid}-${Date.now()}` });
    expect((await ev.run()).status).toBe('incomplete');
    ev.close();
    const diagnosis = why(store, 'waiter');
    expect(diagnosis.sequences[0]?.verdict).toBe('waiting');
    expect(reasonsOf(diagnosis, '0')).toEqual([
      {
        kind: 'pool',
        task: expect.objectContaining({ step: 'waiter', status: 'allocate' }),
        pools: [
          {
            pool: expect.stringMatching(/^db-/),
            amount: 1,
            holders: [],
            finished: [expect.objectContaining({ step: 'holder', sequence: '0', status: 'success' })],
          },
        ],
      },
    ]);
    const text = eventorOk('why', store, 'waiter');
    expect(text).toContain('waiter[0]: it is waiting to start.');
    expect(text).toContain('It waits for resources (status allocate):');
    expect(text).toMatch(/pool db-\S+: it needs 1\./);
    expect(text).toContain('(releases: []): holder[0] success');
  });

  it("names the step's cap and the task holding it while the run is live", async () => {
    const store = join(tempDir(), 'capped.run.db');
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let started!: (sequence: string) => void;
    const firstStart = new Promise<string>((resolve) => {
      started = resolve;
    });
    const ev = buildCapped(lib, { store, gate, onStart: (sequence) => started(sequence) });
    const running = ev.run();
    try {
      const first = await firstStart;
      const second = first === '1' ? '2' : '1';
      // the CLI reads the store while this process runs the flow (spawnSync: the step stays paused)
      const diagnosis = why(store, 'capped');
      expect(diagnosis.runStatus).toBe('running');
      const bySequence = Object.fromEntries(diagnosis.sequences.map((s) => [s.sequence, s]));
      expect(bySequence[first]).toMatchObject({ verdict: 'running', reasons: [{ kind: 'running' }] });
      expect(bySequence[second]).toMatchObject({
        verdict: 'waiting',
        reasons: [
          {
            kind: 'cap',
            maxConcurrent: 1,
            running: [expect.objectContaining({ step: 'capped', sequence: first, status: 'active' })],
          },
        ],
      });
      const text = eventorOk('why', store, 'capped', '--sequence', second);
      expect(text).toContain(`capped[${second}]: it is waiting to start.`);
      expect(text).toContain(`Its step's cap is reached: maxConcurrent 1, running now: capped[${first}].`);
      expect(eventorOk('why', store, 'capped', '--sequence', first)).toMatch(
        /It is active \(attempt 1\) since/,
      );
    } finally {
      open();
      await running;
      ev.close();
    }
    expect(why(store, 'capped').sequences.map((s) => s.verdict)).toEqual(['ran', 'ran']);
  });

  it('says a delay is pending and when it is due, directly or on an event chain', async () => {
    const store = join(tempDir(), 'delayed.run.db');
    const before = Date.now();
    const ev = buildDelayed(lib, { store });
    expect((await ev.run({ maxLoops: 1 })).status).toBe('incomplete');
    ev.close();
    const [later] = reasonsOf(why(store, 'later'), '0');
    expect(later).toMatchObject({ kind: 'delay', event: 'go', targets: ['later'] });
    const dueAt = (later as Extract<Reason, { kind: 'delay' }>).dueAt;
    expect(dueAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(dueAt).toBeLessThan(Date.now() + 3_600_000);
    const text = eventorOk('why', store, 'later');
    expect(text).toMatch(
      /Event go fired; the delay before later is pending, due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in 59m\d\ds\)\./,
    );
    expect(text).toContain("Continue the run (runMode 'continue') once it is due.");

    const [woken] = reasonsOf(why(store, 'woken'), '0');
    expect(woken).toMatchObject({
      kind: 'event',
      event: {
        event: 'wake',
        fired: false,
        sources: [{ kind: 'assoc', event: 'go', fired: true, delayMs: 1_800_000, delay: { fired: false } }],
      },
    });
    expect(eventorOk('why', store, 'woken')).toMatch(
      /an assoc from go fires it after 30m; go fired and the delay is due .* \(in 29m\d\ds\)\./,
    );
  });

  it('says a task created after an unhandled failure was never started, naming the failure', async () => {
    const store = join(tempDir(), 'stopped.run.db');
    const ev = buildStopped(lib, { store });
    expect((await ev.run()).status).toBe('failure');
    ev.close();
    const diagnosis = why(store, 'after');
    expect(diagnosis.sequences[0]).toMatchObject({
      verdict: 'waiting',
      reasons: [
        {
          kind: 'stopped',
          runStatus: 'failure',
          failures: [
            {
              step: 'fail',
              sequence: '0',
              status: 'failure',
              error: 'Step "fail" failed in sequence "0": TypeError: cannot read the input file',
            },
          ],
        },
      ],
    });
    const text = eventorOk('why', store, 'after');
    expect(text).toContain('after[0]: it is waiting to start.');
    expect(text).toContain(
      'fail[0] failed: Step "fail" failed in sequence "0": TypeError: cannot read the input file',
    );
    expect(text).toContain("recover the run (runMode 'recover')");
  });

  it('explains at most 10 sequences without --sequence, and points to --sequence for the rest', async () => {
    const store = join(tempDir(), 'many.run.db');
    const ev = new lib.Eventor({ name: 'many', store, logLevel: 'silent' });
    const go = ev.addEvent('go');
    const approve = ev.addEvent('approve');
    const both = ev.addEvent('both', { expr: [go, approve] });
    ev.addAssoc(both, ev.addStep('publish'));
    ev.addAssoc(go, ev.addStep('prepare'));
    for (let i = 1; i <= 12; i++) ev.triggerEvent(go, `day-${i}`);
    ev.triggerEvent(approve, 'day-12');
    await ev.run();
    ev.close();
    const diagnosis = why(store, 'publish');
    expect(diagnosis.sequences.map((s) => s.sequence)).toEqual([
      'day-12',
      ...Array.from({ length: 9 }, (_, i) => `day-${i + 1}`),
    ]);
    expect(diagnosis.moreSequences).toBe(2);
    expect(diagnosis.sequences[0]?.verdict).toBe('ran');
    expect(diagnosis.sequences[1]?.reasons).toMatchObject([
      { kind: 'event', event: { event: 'both', expr: { op: 'and', value: false } } },
    ]);
    const text = eventorOk('why', store, 'publish');
    expect(text).toContain('… and 2 more sequence(s); pass --sequence S to explain one of them.');
    const one = why(store, 'publish', '--sequence', 'day-11');
    expect(one.sequences.map((s) => [s.sequence, s.verdict])).toEqual([['day-11', 'not-started']]);
  });

  it('fails with exit 1 listing the steps when the step is unknown', async () => {
    const store = await failedDemo();
    const result = eventor('why', store, 's9');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Run "r-[^"]+" has no step "s9"\. Its steps: s1, s2, s3\./);
  });
});
