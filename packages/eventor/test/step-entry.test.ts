import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Eventor, type StepOptions } from '../src/index.js';
import { assertDistIsCurrent } from './helpers/child.js';
import { sandbox } from './helpers/sandbox.js';

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const RECORD_IMPORTS = fileURLToPath(new URL('./fixtures/record-imports.mjs', import.meta.url));
const STEP_MODULE = fileURLToPath(new URL('./fixtures/step-entry-steps.mjs', import.meta.url));
const STEP_CHILD = fileURLToPath(new URL('./fixtures/step-entry-child.mjs', import.meta.url));

beforeAll(() => assertDistIsCurrent());

/** The module URLs a fresh node resolves while importing `specifier` from the package's own folder. */
function importsOf(specifier: string, log: string): string[] {
  execFileSync(
    process.execPath,
    ['--import', RECORD_IMPORTS, '--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`],
    { cwd: PACKAGE_ROOT, env: { ...process.env, FLOW_IMPORT_LOG: log }, stdio: 'pipe' },
  );
  return readFileSync(log, 'utf8').trim().split('\n');
}

const heavy = (urls: string[]) => urls.filter((url) => /drizzle-orm|better-sqlite3|\/store\//.test(url));

describe('@flow/eventor/step', () => {
  it('loads no store, drizzle-orm or better-sqlite3, where @flow/eventor does', () => {
    const box = sandbox('step-entry');
    const light = importsOf('@flow/eventor/step', box.path('step.log'));
    expect(light.some((url) => url.endsWith('/dist/step.js'))).toBe(true);
    expect(heavy(light)).toEqual([]);
    // the same probe sees them in the full entry, so it would see them in the light one
    const full = importsOf('@flow/eventor', box.path('full.log'));
    expect(full.some((url) => url.includes('drizzle-orm'))).toBe(true);
    expect(full.some((url) => url.includes('better-sqlite3'))).toBe(true);
  });

  it('exports the same currentStep as @flow/eventor: inline function and module steps of a program read it', () => {
    const box = sandbox('step-entry');
    const out = execFileSync(process.execPath, [STEP_CHILD, box.store], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
    });
    expect(JSON.parse(out.trim())).toEqual({
      same: true,
      ok: true,
      results: { fn: 'fn', mod: { name: 'mod', sequence: '0', attempt: 1, aborted: false } },
    });
  });

  it('gives worker and process steps that import it their currentStep()', async () => {
    const box = sandbox('step-entry');
    const ev = box.track(
      new Eventor({ name: 'step-entry', store: box.store, logger: box.logger, logLevel: 'info' }),
    );
    const go = ev.addEvent('go');
    const step = (construct: 'worker' | 'process'): StepOptions => ({
      module: STEP_MODULE,
      export: 'whoAmI',
      config: { taskConstruct: construct },
    });
    ev.addAssoc(go, [ev.addStep('in_worker', step('worker')), ev.addStep('in_process', step('process'))]);
    ev.triggerEvent(go, 7);
    expect(await ev.run()).toMatchObject({ ok: true });
    expect(ev.tasks().map((task) => task.result)).toEqual([
      { name: 'in_worker', sequence: '7', attempt: 1, aborted: false },
      { name: 'in_process', sequence: '7', attempt: 1, aborted: false },
    ]);
    const hellos = box.logger.at('info').filter((record) => record.msg === 'hello from the step entry');
    expect(hellos.map((record) => record.fields.step).sort()).toEqual(['in_process', 'in_worker']);
  });
});
