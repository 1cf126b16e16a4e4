import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  FlowConfigError,
  FlowDefinitionError,
  type StepOptions,
  type StepRef,
  StepStatus,
  type TaskRecord,
} from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

// These tests are checked by `pnpm typecheck` (tsc covers test/): an `@ts-expect-error` that is no
// longer needed, or an `expectTypeOf` that does not hold, fails it.

const square = (x: number) => x * x;
const squareLater = async (x: number) => x * x;
const hello = () => 'hi';
const greet = (name: string, times?: number) => name.repeat(times ?? 1);
const total = (label: string, ...values: number[]) => `${label}=${values.reduce((a, b) => a + b, 0)}`;

describe('typed steps: addStep', () => {
  it('checks a func step’s args against its parameters', () => {
    const ev = sandbox().eventor();
    ev.addStep('square', { func: square, args: [3] });
    ev.addStep('hello', { func: hello });
    ev.addStep('hello-empty', { func: hello, args: [] });
    ev.addStep('greet-once', { func: greet, args: ['a'] });
    ev.addStep('greet-twice', { func: greet, args: ['a', 2] });
    ev.addStep('total-none', { func: total, args: ['t'] });
    ev.addStep('total-three', { func: total, args: ['t', 1, 2, 3] });
    const args = [4] as const;
    ev.addStep('square-const', { func: square, args });
    // an inline func without annotations takes its parameter types from args
    ev.addStep('inline', { func: (text, times) => text.repeat(times), args: ['a', 2] });

    // @ts-expect-error a string where square takes a number
    ev.addStep('wrong-type', { func: square, args: ['3'] });
    // @ts-expect-error square needs its argument
    ev.addStep('missing', { func: square });
    // @ts-expect-error square takes one argument, not two
    ev.addStep('extra', { func: square, args: [3, 4] });
    // @ts-expect-error hello takes no arguments
    ev.addStep('extra-none', { func: hello, args: [1] });
    // @ts-expect-error greet's optional second parameter is a number
    ev.addStep('wrong-optional', { func: greet, args: ['a', 'b'] });
    // @ts-expect-error total's rest parameter takes numbers
    ev.addStep('wrong-rest', { func: total, args: ['t', 1, 'x'] });
    // @ts-expect-error total needs its label before the rest
    ev.addStep('missing-before-rest', { func: total, args: [] });
    // @ts-expect-error text is a string (from args), which has no toFixed
    ev.addStep('inline-wrong', { func: (text) => text.toFixed(), args: ['a'] });
    expect(() =>
      // @ts-expect-error a func step names no module (and throws at run time too)
      ev.addStep('func-and-module', { func: hello, module: './steps.js' }),
    ).toThrow(FlowDefinitionError);
  });

  it('types the handle with the func’s awaited result; unknown for module and command steps, undefined for no-op steps', () => {
    const ev = sandbox().eventor();
    const go = ev.addEvent('go');
    expectTypeOf(ev.addStep('square', { func: square, args: [3] })).toEqualTypeOf<StepRef<number>>();
    expectTypeOf(ev.addStep('later', { func: squareLater, args: [3] })).toEqualTypeOf<StepRef<number>>();
    expectTypeOf(ev.addStep('hello', { func: hello })).toEqualTypeOf<StepRef<string>>();
    expectTypeOf(ev.addStep('total', { func: total, args: ['t', 1] })).toEqualTypeOf<StepRef<string>>();
    expectTypeOf(ev.addStep('inline', { func: (n) => n * 2, args: [3] })).toEqualTypeOf<StepRef<number>>();
    expectTypeOf(
      ev.addStep('crunch', {
        module: new URL('./fixtures/steps.mjs', import.meta.url),
        export: 'add',
        args: [1, 'any value'],
        config: { taskConstruct: 'worker' },
      }),
    ).toEqualTypeOf<StepRef<unknown>>();
    expectTypeOf(ev.addStep('node', { command: ['node', '--version'], cwd: '.' })).toEqualTypeOf<
      StepRef<unknown>
    >();
    expectTypeOf(ev.addStep('noop')).toEqualTypeOf<StepRef<undefined>>();
    const noop = ev.addStep('noop-triggers', { triggers: { [StepStatus.success]: go } });
    expectTypeOf(noop).toEqualTypeOf<StepRef<undefined>>();
    // options built as a plain StepOptions value (func and args not related) give an untyped handle
    const built: StepOptions = { func: square, args: [2] };
    expectTypeOf(ev.addStep('built', built)).toEqualTypeOf<StepRef<unknown>>();

    const typed = ev.addStep('typed', { func: square, args: [5], triggers: { success: [go] } });
    ev.addAssoc(go, [typed, noop]);
    // @ts-expect-error a StepRef<number> is not a StepRef<string>
    const wrong: StepRef<string> = typed;
    const untyped: StepRef = typed;
    expect([wrong.name, untyped.name]).toEqual(['typed', 'typed']);
  });

  it('exports EventRef and StepRef as types only: handles come from addEvent and addStep', async () => {
    const api = await import('../src/index.js');
    expectTypeOf(api).not.toHaveProperty('StepRef');
    expectTypeOf(api).not.toHaveProperty('EventRef');
    expect(Object.keys(api)).not.toContain('StepRef');
    expect(Object.keys(api)).not.toContain('EventRef');
  });
});

describe('typed steps: tasks({ step })', () => {
  it('reads a step’s task records through its handle, typed with the func’s result', async () => {
    const box = sandbox();
    const ev = box.eventor();
    const go = ev.addEvent('go');
    const squared = ev.addStep('square', { func: squareLater, args: [3] });
    const said = ev.addStep('hello', { func: hello });
    ev.addAssoc(go, [squared, said]);
    ev.triggerEvent(go);
    expect((await ev.run()).ok).toBe(true);

    const records = ev.tasks({ step: squared });
    expectTypeOf(records).toEqualTypeOf<TaskRecord<number>[]>();
    expectTypeOf(records[0]?.result).toEqualTypeOf<number | undefined>();
    expect(records.map((task) => [task.step, task.result])).toEqual([['square', 9]]);
    const hellos = ev.tasks({ step: said, status: 'success' });
    expectTypeOf(hellos).toEqualTypeOf<TaskRecord<string>[]>();
    expect(hellos.map((task) => task.result)).toEqual(['hi']);

    expectTypeOf(ev.tasks()).toEqualTypeOf<TaskRecord<unknown>[]>();
    expectTypeOf(ev.tasks({ step: 'square' })).toEqualTypeOf<TaskRecord<unknown>[]>();
    expect(ev.tasks({ step: 'square' })).toEqual(records);

    // a handle names its step on another Eventor of the same store, as a recovery would read it
    const again = box.eventor({ runMode: 'continue' });
    expect(again.tasks({ step: squared }).map((task) => task.result)).toEqual([9]);
  });

  it('rejects a step filter that is neither a handle nor a name', () => {
    const ev = sandbox().eventor();
    expect(() => ev.tasks({ step: 3 as never })).toThrow(FlowConfigError);
    expect(() => ev.tasks({ step: 3 as never })).toThrow(/"step" must be a step's handle or name/);
  });
});
