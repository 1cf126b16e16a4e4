import { describe, expect, it } from 'vitest';
import type { StepOptions } from '../src/index.js';
import { buildStepDef } from '../src/options.js';
import { runCommand } from '../src/runtime/runners/command.js';
import { childExecArgv } from '../src/runtime/runners/exec-argv.js';
import { selectRunner } from '../src/runtime/runners/index.js';
import { runInline, runModuleInline } from '../src/runtime/runners/inline.js';
import { runInProcess } from '../src/runtime/runners/process.js';
import { runInWorker } from '../src/runtime/runners/worker.js';

const def = (options: StepOptions) =>
  buildStepDef('s', options, () => {
    throw new Error('no events here');
  });

describe('selectRunner', () => {
  it('routes module steps by task construct', () => {
    const step = def({ module: './steps.mjs', export: 'x' });
    expect(selectRunner(step, 'inline')).toBe(runModuleInline);
    expect(selectRunner(step, 'worker')).toBe(runInWorker);
    expect(selectRunner(step, 'process')).toBe(runInProcess);
  });

  it('runs command steps as commands whatever the construct, function steps inline, no-op steps not at all', () => {
    for (const construct of ['inline', 'worker', 'process'] as const) {
      expect(selectRunner(def({ command: ['true'] }), construct)).toBe(runCommand);
    }
    expect(selectRunner(def({ func: () => 1 }), 'inline')).toBe(runInline);
    expect(selectRunner(def({}), 'worker')).toBeUndefined();
  });
});

describe('childExecArgv', () => {
  it('keeps loaders and flags but drops eval code, inspector, test runner and watch flags', () => {
    const given = [
      '--require',
      '/x/preflight.cjs',
      '--import',
      'file:///x/loader.mjs',
      '--conditions',
      'development',
      '--enable-source-maps',
      '--input-type',
      'module',
      '--eval',
      'console.log(1)',
      '-p',
      '1+1',
      '--inspect-brk=9229',
      '--inspect',
      '--test',
      '--test-name-pattern',
      'foo',
      '--watch',
    ];
    expect(childExecArgv(given)).toEqual([
      '--require',
      '/x/preflight.cjs',
      '--import',
      'file:///x/loader.mjs',
      '--conditions',
      'development',
      '--enable-source-maps',
    ]);
  });
});
