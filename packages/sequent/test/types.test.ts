import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  SequentError,
  type SequentStep,
  type SequentStepOptions,
  StepStatus,
  type TaskRecord,
} from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

// Checked by `pnpm typecheck` (tsc covers test/): an `@ts-expect-error` that is no longer needed,
// or an `expectTypeOf` that does not hold, fails it.

const square = (x: number) => x * x;
const squareLater = async (x: number) => x * x;
const hello = () => 'hi';
const greet = (name: string, times?: number) => name.repeat(times ?? 1);
const total = (label: string, ...values: number[]) => `${label}=${values.reduce((a, b) => a + b, 0)}`;

describe('typed steps: Sequent addStep', () => {
  it('checks a leaf’s args against its func’s parameters, at the top level and in a container', () => {
    const flow = sandbox().flow();
    const box = flow.addStep('box', { repeats: [1, 2] });
    flow.addStep('square', { func: square, args: [3] });
    box.addStep('square', { func: square, args: [3], requires: [] });
    box.addStep('hello', { func: hello });
    flow.addStep('greet-once', { func: greet, args: ['a'] });
    box.addStep('greet-twice', { func: greet, args: ['a', 2] });
    flow.addStep('total-none', { func: total, args: ['t'] });
    box.addStep('total-three', { func: total, args: ['t', 1, 2, 3] });
    box.addStep('inline', { func: (text, times) => text.repeat(times), args: ['a', 2] });

    // @ts-expect-error a string where square takes a number
    flow.addStep('wrong-type', { func: square, args: ['3'] });
    // @ts-expect-error square needs its argument
    box.addStep('missing', { func: square });
    // @ts-expect-error square takes one argument, not two
    box.addStep('extra', { func: square, args: [3, 4] });
    // @ts-expect-error hello takes no arguments
    flow.addStep('extra-none', { func: hello, args: [1] });
    // @ts-expect-error greet's optional second parameter is a number
    box.addStep('wrong-optional', { func: greet, args: ['a', 'b'] });
    // @ts-expect-error total's rest parameter takes numbers
    flow.addStep('wrong-rest', { func: total, args: ['t', 1, 'x'] });
    // @ts-expect-error text is a string (from args), which has no toFixed
    box.addStep('inline-wrong', { func: (text) => text.toFixed(), args: ['a'] });
    expect(() =>
      // @ts-expect-error a func step names no module (and throws at run time too)
      flow.addStep('func-and-module', { func: hello, module: './steps.js' }),
    ).toThrow(SequentError);
    expect(box.children.map((step) => step.name)).toEqual([
      'square',
      'hello',
      'greet-twice',
      'total-three',
      'inline',
      'missing',
      'extra',
      'wrong-optional',
      'inline-wrong',
    ]);
  });

  it('types the handle with the leaf’s awaited result; unknown for module and command leaves, undefined otherwise', () => {
    const flow = sandbox().flow();
    const box = flow.addStep('box', { repeats: [1, 2] });
    expectTypeOf(box).toEqualTypeOf<SequentStep<undefined>>();
    expectTypeOf(box.addStep('square', { func: square, args: [3] })).toEqualTypeOf<SequentStep<number>>();
    expectTypeOf(flow.addStep('later', { func: squareLater, args: [3] })).toEqualTypeOf<
      SequentStep<number>
    >();
    expectTypeOf(box.addStep('hello', { func: hello })).toEqualTypeOf<SequentStep<string>>();
    expectTypeOf(box.addStep('inline', { func: (n) => n * 2, args: [3] })).toEqualTypeOf<
      SequentStep<number>
    >();
    expectTypeOf(
      flow.addStep('crunch', {
        module: new URL('./fixtures/steps.mjs', import.meta.url),
        export: 'crunch',
        args: [1, 'any value'],
      }),
    ).toEqualTypeOf<SequentStep<unknown>>();
    expectTypeOf(flow.addStep('node', { command: ['node', '--version'] })).toEqualTypeOf<
      SequentStep<unknown>
    >();
    expectTypeOf(flow.addStep('noop')).toEqualTypeOf<SequentStep<undefined>>();
    // options built as a plain SequentStepOptions value give an untyped handle
    const built: SequentStepOptions = { func: square, args: [2] };
    expectTypeOf(flow.addStep('built', built)).toEqualTypeOf<SequentStep<unknown>>();
    // typed handles are requirements like any other
    const typed = flow.addStep('typed', { func: square, args: [5] });
    flow.addStep('after', { func: hello, requires: [[typed, StepStatus.success]] });
    // @ts-expect-error a SequentStep<number> is not a SequentStep<string>
    const wrong: SequentStep<string> = typed;
    const untyped: SequentStep = typed;
    expect([wrong.path, untyped.path]).toEqual(['typed', 'typed']);
  });
});

describe('typed steps: Sequent tasks({ step })', () => {
  it('reads a leaf’s task records through its handle, typed with its func’s result', async () => {
    const flow = sandbox().flow();
    const box = flow.addStep('box', { repeats: [2, 3] });
    const squared = box.addStep('square', { func: squareLater, args: [3] });
    const said = flow.addStep('hello', { func: hello, requires: [[box, StepStatus.success]] });
    expect((await flow.run()).ok).toBe(true);

    const records = flow.tasks({ step: squared });
    expectTypeOf(records).toEqualTypeOf<TaskRecord<number>[]>();
    expectTypeOf(records[0]?.result).toEqualTypeOf<number | undefined>();
    expect(records.map((task) => [task.step, task.sequence, task.result])).toEqual([
      ['box_square', '1.1', 9],
      ['box_square', '1.2', 9],
    ]);
    const hellos = flow.tasks({ step: said, status: 'success' });
    expectTypeOf(hellos).toEqualTypeOf<TaskRecord<string>[]>();
    expect(hellos.map((task) => task.result)).toEqual(['hi']);
    expect(flow.tasks({ step: squared, limit: 1, offset: 1 }).map((task) => task.sequence)).toEqual(['1.2']);

    expectTypeOf(flow.tasks()).toEqualTypeOf<TaskRecord<unknown>[]>();
    expectTypeOf(flow.tasks({ step: 'box_square' })).toEqualTypeOf<TaskRecord<unknown>[]>();
    expect(flow.tasks({ step: 'box_square' })).toEqual(records);
    // a container has no task records of its own
    expect(flow.tasks({ step: box })).toEqual([]);
  });
});
