import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FlowDefinitionError } from '../../errors.js';
import { runInStepContext } from '../context.js';
import type { StepInvocation } from './types.js';

/** Calls a function step in this process, inside its step context. */
export function runInline(invocation: StepInvocation): unknown {
  const { step, context } = invocation;
  const func = step.func as (...args: unknown[]) => unknown;
  return runInStepContext(context, () => func(...step.args));
}

/** Imports a module step's export and calls it in this process. */
export async function runModuleInline(invocation: StepInvocation): Promise<unknown> {
  const { step, context } = invocation;
  const func = await loadExport(step.name, step.module as string, step.exportName);
  return runInStepContext(context, () => func(...step.args));
}

export function moduleUrl(specifier: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) return specifier;
  return pathToFileURL(isAbsolute(specifier) ? specifier : resolve(specifier)).href;
}

export async function loadExport(stepName: string, specifier: string, exportName: string) {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(moduleUrl(specifier))) as Record<string, unknown>;
  } catch (cause) {
    throw new FlowDefinitionError(
      `Step "${stepName}": cannot import module "${specifier}": ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const func = loaded[exportName];
  if (typeof func !== 'function') {
    throw new FlowDefinitionError(
      `Step "${stepName}": module "${specifier}" has no function export "${exportName}" ` +
        `(exports: ${Object.keys(loaded).join(', ') || 'none'}).`,
    );
  }
  return func as (...args: unknown[]) => unknown;
}
