import { describe, expect, it } from 'vitest';
import { checkStepOptions, FlowConfigError, FlowDefinitionError, ResourcePool } from '../src/index.js';

describe('checkStepOptions', () => {
  it('throws what addStep would throw for the same options, and adds nothing', () => {
    expect(() => checkStepOptions('a', { func: () => 1, args: [1] })).not.toThrow();
    expect(() => checkStepOptions('a', { func: 'nope' as never })).toThrow(
      /Step "a": func must be a function/,
    );
    expect(() => checkStepOptions('a', { module: 42 as never })).toThrow(FlowDefinitionError);
    const pool = new ResourcePool('small', { limit: 1 });
    expect(() => checkStepOptions('a', { acquires: [[pool, 2]] })).toThrow(/could never start/);
    expect(() => checkStepOptions('a', { config: { retries: -1 } })).toThrow(FlowConfigError);
    expect(() => checkStepOptions('a', { triggers: { success: ['x'] } } as never)).toThrow(
      /leave triggers out/,
    );
  });
});
