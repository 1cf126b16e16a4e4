import { describe, expect, it } from 'vitest';
import { StepStatus } from '../src/index.js';
import { executed, sandbox } from './helpers/sandbox.js';

describe('large definitions', () => {
  it('takes a requires list of 150,000 items (a generated list, not spread into a call)', async () => {
    const box = sandbox();
    const flow = box.flow();
    const a = flow.addStep('a', { func: () => 'a' });
    const requires = Array.from({ length: 150_000 }, () => [a, StepStatus.success] as const);
    flow
      .addStep('b', { func: () => 'b', requires: requires.slice(0, 75_000) })
      .addRequires([a, StepStatus.success]);
    flow.addStep('c', { func: () => 'c', requires });
    expect(await flow.run()).toMatchObject({ ok: true, status: 'success' });
    expect(executed(flow.tasks()).sort()).toEqual(['a/1', 'b/1', 'c/1']);
  }, 60_000);
});
