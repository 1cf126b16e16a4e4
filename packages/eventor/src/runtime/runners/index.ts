import { FlowDefinitionError } from '../../errors.js';
import type { StepDef, TaskConstruct } from '../../model/step.js';
import { runInline, runModuleInline } from './inline.js';
import type { StepRunner } from './types.js';

export type { StepInvocation, StepRunner } from './types.js';

/** Picks the runner for a step; `construct` is the step's task construct after inheritance. */
export function selectRunner(step: StepDef, construct: TaskConstruct): StepRunner | undefined {
  switch (step.kind) {
    case 'noop':
      return undefined;
    case 'function':
      return runInline;
    case 'module':
      if (construct === 'inline') return runModuleInline;
      break;
    case 'command':
      break;
  }
  throw new FlowDefinitionError(
    `Step "${step.name}": ${step.kind === 'command' ? 'command steps' : `taskConstruct '${construct}'`} ` +
      'is not available in this version of @flow/eventor.',
  );
}
