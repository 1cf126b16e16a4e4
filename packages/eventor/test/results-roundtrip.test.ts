import Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { describe, expect, it } from 'vitest';
import type { Eventor, TaskConstruct } from '../src/index.js';
import { assertBuilt, eventorOk } from './fixtures-cli/cli.js';
import { make } from './fixtures-store/results.mjs';
import { type Sandbox, sandbox } from './helpers/sandbox.js';

const RESULTS = new URL('./fixtures-store/results.mjs', import.meta.url);
const KINDS = ['date', 'map', 'set', 'bigint', 'regexp', 'bytes', 'undefined', 'nan', 'numbers', 'circular'];
const CONSTRUCTS: TaskConstruct[] = ['inline', 'worker', 'process'];

/** One step per kind, run by `construct`; the step builds its value (see fixtures-store/results.mjs). */
function resultsFlow(ev: Eventor, construct: TaskConstruct, kinds: readonly string[], fireDone = false) {
  const go = ev.addEvent('go');
  const steps = kinds.map((kind) => {
    const triggers = fireDone ? { success: [ev.addEvent(`${kind}_done`)] } : {};
    return construct === 'inline'
      ? ev.addStep(kind, { func: make, args: [kind], triggers })
      : ev.addStep(kind, {
          module: RESULTS,
          export: 'make',
          args: [kind],
          triggers,
          config: { taskConstruct: construct },
        });
  });
  ev.addAssoc(go, steps);
  return go;
}

function resultsOf(ev: Eventor, recovery?: number): Record<string, unknown> {
  const tasks = ev.tasks(recovery === undefined ? {} : { recovery });
  return Object.fromEntries(tasks.map((task) => [task.step, task.result]));
}

/** What each kind must read back as: the value itself, and the identities JSON would lose. */
function expectRoundTrip(results: Record<string, unknown>): void {
  for (const kind of KINDS) expect(results[kind], kind).toEqual(make(kind));
  expect(results.date).toBeInstanceOf(Date);
  expect(results.map).toBeInstanceOf(Map);
  expect(results.set).toBeInstanceOf(Set);
  expect(typeof results.bigint).toBe('bigint');
  expect(results.regexp).toBeInstanceOf(RegExp);
  expect((results.regexp as RegExp).flags).toBe('gi');
  expect(results.bytes).toBeInstanceOf(Uint8Array);
  expect(Object.hasOwn(results.undefined as object, 'a')).toBe(true);
  expect(results.nan).toBeNaN();
  expect(Object.is((results.numbers as { negativeZero: number }).negativeZero, -0)).toBe(true);
  const circular = results.circular as { self: unknown; list: unknown[]; left: unknown; right: unknown };
  expect(circular.self).toBe(circular);
  expect(circular.list[0]).toBe(circular);
  expect(circular.left).toBe(circular.right);
}

function eventor(box: Sandbox, options: ConstructorParameters<typeof Eventor>[0] = {}) {
  return box.eventor({ config: { stopOnException: false }, ...options });
}

describe('a step result', () => {
  it.each(CONSTRUCTS)(
    'reads back as it was returned, for every value structured clone can copy (%s steps)',
    async (construct) => {
      const box = sandbox('results');
      const ev = eventor(box);
      ev.triggerEvent(resultsFlow(ev, construct, KINDS));
      expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });

      expectRoundTrip(resultsOf(ev));
      ev.close();
      // and from the file, in another Eventor
      const reader = eventor(box, { runMode: 'continue' });
      expectRoundTrip(resultsOf(reader));
    },
  );

  it.each(CONSTRUCTS)(
    'fails the step with FLOW_RESULT_NOT_SERIALIZABLE naming the step and the type (%s steps)',
    async (construct) => {
      const box = sandbox('results');
      const ev = eventor(box);
      ev.triggerEvent(resultsFlow(ev, construct, ['function', 'symbol']));
      expect(await ev.run()).toMatchObject({ ok: false, status: 'failure' });

      const [fn, symbol] = ev.tasks();
      expect(fn).toMatchObject({ step: 'function', status: 'failure' });
      expect(fn?.error?.code).toBe('FLOW_RESULT_NOT_SERIALIZABLE');
      expect(fn?.error?.message).toMatch(
        /^Step "function" failed in sequence "0": its result cannot be stored: it holds a function \(format\) \(at \.rows\[2\]\.format\)/,
      );
      expect(symbol?.error?.code).toBe('FLOW_RESULT_NOT_SERIALIZABLE');
      expect(symbol?.error?.message).toMatch(/"symbol".*it holds a symbol \(Symbol\(secret\)\) \(at \.tag\)/);
    },
  );

  it('gives the same failure message whatever construct ran the step', async () => {
    const messages = new Set<string>();
    for (const construct of CONSTRUCTS) {
      const box = sandbox('results');
      const ev = eventor(box);
      ev.triggerEvent(resultsFlow(ev, construct, ['function']));
      await ev.run();
      messages.add(ev.tasks()[0]?.error?.message ?? '');
    }
    expect([...messages]).toHaveLength(1);
  });

  it.each(CONSTRUCTS)(
    'is handed unchanged by a recovery that skips the step, to tasks() and to a later step (%s steps)',
    async (construct) => {
      const box = sandbox('results');
      const seen: Record<string, unknown> = {};
      const build = (options: ConstructorParameters<typeof Eventor>[0]) => {
        const ev = eventor(box, options);
        const go = resultsFlow(ev, construct, KINDS, true);
        const made = ev.addEvent('made', { expr: KINDS.map((kind) => ev.addEvent(`${kind}_done`)) });
        const check = ev.addStep('check', {
          func: () => {
            if (ev.recovery === 0) throw new Error('not yet');
            Object.assign(seen, resultsOf(ev, ev.recovery));
            return 'checked';
          },
        });
        ev.addAssoc(made, check);
        return { ev, go };
      };
      const first = build({});
      first.ev.triggerEvent(first.go);
      expect((await first.ev.run()).ok).toBe(false);
      first.ev.close();

      const again = build({ runMode: 'recover' });
      again.ev.triggerEvent(again.go);
      expect(await again.ev.run()).toMatchObject({ ok: true, recovery: 1 });
      const skipped = again.ev.tasks({ recovery: 1 }).filter((task) => task.skipped);
      expect(skipped.map((task) => task.step).sort()).toEqual([...KINDS].sort());
      expectRoundTrip(resultsOf(again.ev, 1));
      expectRoundTrip(seen);
    },
  );
});

/** A store as a version before results were stored with v8 left it: migrations 0000 and 0001 only. */
function oldStoreWithJsonResult(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(
    'CREATE TABLE "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)',
  );
  const migrations = readMigrationFiles({
    migrationsFolder: new URL('../drizzle/sqlite', import.meta.url).pathname,
  });
  for (const migration of migrations.slice(0, 2)) {
    for (const statement of migration.sql) db.exec(statement);
    db.prepare('INSERT INTO "__drizzle_migrations" (hash, created_at) VALUES (?, ?)').run(
      migration.hash,
      migration.folderMillis,
    );
  }
  db.prepare(
    `INSERT INTO runs (id, name, mode, recovery, status, started_at, updated_at) VALUES ('old', 'test', 'restart', 0, 'failure', 1, 2)`,
  ).run();
  db.prepare(
    `INSERT INTO tasks (run_id, ord, step, sequence, recovery, status, attempts, result, skipped, created_at, updated_at)
     VALUES ('old', 1, 'make', '0', 0, 'success', 1, '{"rows":3,"when":"2025-05-05T00:00:00.000Z"}', 0, 1, 2),
            ('old', 2, 'check', '0', 0, 'failure', 1, NULL, 0, 1, 2)`,
  ).run();
  db.close();
}

describe('a store written before results were stored with v8', () => {
  it('still reads its JSON results, in tasks(), in a recovery that skips the step, and in eventor show --json', async () => {
    const box = sandbox('results');
    oldStoreWithJsonResult(box.store);
    const old = { rows: 3, when: '2025-05-05T00:00:00.000Z' };
    assertBuilt();
    // the command reads a store as it is: no engine of this version has migrated it yet
    const before = JSON.parse(eventorOk('show', box.store, 'old', '--json', '--step', 'make')) as Array<{
      result: unknown;
    }>;
    expect(before.map((task) => task.result)).toEqual([old]);
    let handed: unknown;
    const ev = eventor(box, { runMode: 'recover' });
    const go = ev.addEvent('go');
    const made = ev.addEvent('made');
    ev.addAssoc(go, ev.addStep('make', { func: () => ({ rows: 0 }), triggers: { success: [made] } }));
    ev.addAssoc(
      made,
      ev.addStep('check', {
        func: () => {
          handed = ev.tasks({ step: 'make', recovery: ev.recovery })[0]?.result;
        },
      }),
    );
    ev.triggerEvent(go);
    expect(await ev.run()).toMatchObject({ ok: true, runId: 'old', recovery: 1 });

    expect(ev.tasks({ step: 'make' }).map((task) => [task.recovery, task.skipped, task.result])).toEqual([
      [0, false, old],
      [1, true, old],
    ]);
    expect(handed).toEqual(old);
    ev.close();
    assertBuilt();
    const shown = JSON.parse(eventorOk('show', box.store, 'old', '--json', '--step', 'make')) as Array<{
      result: unknown;
    }>;
    expect(shown.map((task) => task.result)).toEqual([old, old]);
  });
});

describe('eventor show --json', () => {
  it('prints results JSON has no form for as tagged values', async () => {
    const box = sandbox('results');
    const ev = eventor(box);
    ev.triggerEvent(resultsFlow(ev, 'inline', KINDS));
    await ev.run();
    const runId = ev.runId;
    ev.close();
    assertBuilt();
    const shown = JSON.parse(eventorOk('show', box.store, runId, '--json')) as Array<{
      step: string;
      result?: unknown;
    }>;
    const byStep = Object.fromEntries(shown.map((task) => [task.step, task.result]));

    expect(byStep).toEqual({
      date: '2026-01-02T03:04:05.006Z',
      map: {
        $map: [
          ['a', 1],
          [2, { b: [3] }],
        ],
      },
      set: { $set: [1, 'two', { $bigint: '3' }] },
      bigint: { $bigint: '12345678901234567890' },
      regexp: { $regexp: '/a+b/gi' },
      bytes: [0, 1, 254, 255],
      undefined: { list: [null, 1] },
      nan: { $number: 'NaN' },
      numbers: { nan: { $number: 'NaN' }, negativeZero: 0, infinity: { $number: '-Infinity' } },
      circular: {
        name: 'root',
        left: { name: 'shared' },
        right: { name: 'shared' },
        self: { $ref: '$' },
        list: [{ $ref: '$' }],
      },
    });
  });
});
