import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FlowError } from '../../errors.js';

export type EntryName = 'worker-entry' | 'process-entry';

const found = new Map<EntryName, string>();

/**
 * The runnable JavaScript file a worker thread or forked child starts from. In the built package it
 * sits next to this module. When this module runs from TypeScript source (vitest, tsx), a thread or
 * child could not load a `.ts` entry, so the built copy in `dist/` is used: it imports the same
 * `dist/` context module that a step's own `import { currentStep } from '@flow/eventor'` resolves to.
 */
export function entryPath(name: EntryName): string {
  const known = found.get(name);
  if (known !== undefined) return known;
  const candidates = [new URL(`./${name}.js`, import.meta.url)];
  if (import.meta.url.endsWith('.ts'))
    candidates.push(new URL(`../../../dist/runtime/runners/${name}.js`, import.meta.url));
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate);
    if (existsSync(path)) {
      found.set(name, path);
      return path;
    }
  }
  throw new FlowError(
    `Cannot find ${name}.js, the script worker and process steps start from (looked in ` +
      `${candidates.map((url) => fileURLToPath(url)).join(' and ')}). ` +
      'Running @flow/eventor from its TypeScript source? Build it first: pnpm --filter @flow/eventor build.',
    { code: 'FLOW_RUNNER_ENTRY_MISSING' },
  );
}
