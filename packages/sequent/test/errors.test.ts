import { describe, expect, it } from 'vitest';
import {
  FlowConfigError,
  FlowDefinitionError,
  FlowError,
  or,
  ResourcePool,
  SequentError,
  StepStatus,
} from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

/** Runs `fn`, expecting a SequentError; returns it for closer checks. */
function sequentError(fn: () => unknown): SequentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SequentError);
    expect(error).toBeInstanceOf(FlowError);
    return error as SequentError;
  }
  throw new Error('expected a SequentError, nothing was thrown');
}

describe('SequentError for invalid requires', () => {
  it('rejects a step of another flow, naming it', () => {
    const box = sandbox();
    const one = box.flow();
    const other = box.flow({ name: 'other', store: box.anotherStore('other.run.db') });
    const foreign = other.addStep('foreign');
    const error = sequentError(() => one.addStep('mine', { requires: [[foreign, StepStatus.success]] }));
    expect(error).toMatchObject({ code: 'SEQUENT_REQUIRES', kind: 'requires', steps: ['foreign'] });
    expect(error.message).toMatch(/step "foreign" belongs to another Sequent \(flow "other"\)/);
    expect(error.message).toContain('Step "mine" requires');
    const event = other.addEvent([[foreign, StepStatus.success]]);
    expect(sequentError(() => one.addStep('also', { requires: [event] })).message).toMatch(
      /another Sequent's addEvent/,
    );
    expect(sequentError(() => one.addEvent([[foreign, StepStatus.failure]])).steps).toEqual(['foreign']);
  });

  it('rejects a step requiring itself', () => {
    const flow = sandbox().flow();
    const a = flow.addStep('a');
    const error = sequentError(() => a.addRequires([a, StepStatus.success]));
    expect(error).toMatchObject({ code: 'SEQUENT_REQUIRES', steps: ['a'] });
    expect(error.message).toMatch(/Step "a" requires itself/);
    const viaEvent = flow.addEvent(or([a, StepStatus.failure], [a, StepStatus.success]));
    expect(sequentError(() => a.addRequires(viaEvent)).message).toMatch(/requires itself/);
  });

  it('rejects a step requiring its own container, at any depth, and a container requiring its child', () => {
    const flow = sandbox().flow();
    const s1 = flow.addStep('s1', { repeats: [1, 2] });
    const s11 = s1.addStep('s11', { repeats: [1, 2] });
    const parent = sequentError(() => s11.addStep('s111', { requires: [[s11, StepStatus.success]] }));
    expect(parent).toMatchObject({ code: 'SEQUENT_REQUIRES', steps: ['s1_s11_s111', 's1_s11'] });
    expect(parent.message).toMatch(/Step "s1_s11_s111" requires its own container "s1_s11"/);
    const grand = sequentError(() => s11.addStep('s112', { requires: [[s1, StepStatus.complete]] }));
    expect(grand.steps).toEqual(['s1_s11_s112', 's1']);
    const leaf = s11.addStep('leaf');
    const child = sequentError(() => s1.addRequires([leaf, StepStatus.success]));
    expect(child.steps).toEqual(['s1', 's1_s11_leaf']);
    expect(child.message).toMatch(/Container "s1" requires "s1_s11_leaf", which is inside it/);
    // the rejected steps were not added
    expect(s11.children.map((step) => step.name)).toEqual(['leaf']);
  });

  it('rejects a cycle between siblings, naming every step of it', () => {
    const flow = sandbox().flow();
    const a = flow.addStep('a');
    const b = flow.addStep('b', { requires: [[a, StepStatus.success]] });
    const c = flow.addStep('c', { requires: [[b, StepStatus.complete]] });
    const error = sequentError(() => a.addRequires(or([c, StepStatus.success], [c, StepStatus.failure])));
    expect(error).toMatchObject({ code: 'SEQUENT_CYCLE', kind: 'cycle' });
    // read as "waits for": a waits for c, c for b, b for a
    expect(error.steps).toEqual(['a', 'c', 'b', 'a']);
    expect(error.message).toContain(
      'a -> c -> b -> a ("a" requires "c"; "c" requires "b"; "b" requires "a")',
    );
  });

  it('rejects a cycle through a container: a step inside it waits for a step that waits for the container', () => {
    const flow = sandbox().flow();
    const box = flow.addStep('box', { repeats: [1, 2] });
    const after = flow.addStep('after', { requires: [[box, StepStatus.success]] });
    const error = sequentError(() => box.addStep('inner', { requires: [[after, StepStatus.success]] }));
    expect(error.code).toBe('SEQUENT_CYCLE');
    expect(error.steps).toEqual(['box', 'after', 'box']);
    expect(error.message).toContain('"box_inner" (in "box") requires "after"');
  });

  it('rejects a step inside a container that does not enclose the requiring step', () => {
    const flow = sandbox().flow();
    const s1 = flow.addStep('s1', { repeats: [1, 2] });
    const s11 = s1.addStep('s11', { repeats: [1, 2] });
    const deep = s11.addStep('s111');
    const error = sequentError(() => flow.addStep('s2', { requires: [[deep, StepStatus.success]] }));
    expect(error.steps).toEqual(['s2', 's1_s11_s111']);
    expect(error.message).toMatch(
      /inside container "s1_s11" that does not enclose "s2".*Require the container "s1"/,
    );
  });

  it('rejects requirements of the wrong shape', () => {
    const flow = sandbox().flow();
    const a = flow.addStep('a');
    const bad = (requires: unknown) => sequentError(() => flow.addStep('x', { requires: requires as never }));
    expect(bad([[a, 'finished']]).message).toMatch(
      /unknown status; use one of ready, active, success, failure, complete/,
    );
    expect(bad([a]).message).toMatch(/step "a" is given without a status/);
    expect(bad([or()]).message).toMatch(/an empty or\(\)/);
    expect(bad([[]]).message).toMatch(/an empty list\/and\(\)/);
    expect(bad(['a']).message).toMatch(/expected \[step, status\]/);
    // a single [step, status] without the outer list is taken as one requirement
    expect(flow.addStep('lenient', { requires: [a, StepStatus.success] as never }).path).toBe('lenient');
  });
});

describe('SequentError for bad steps', () => {
  it('rejects bad names, duplicate paths and unknown options', () => {
    const flow = sandbox().flow();
    const s1 = flow.addStep('s1');
    expect(sequentError(() => flow.addStep('')).code).toBe('SEQUENT_DEFINITION');
    expect(sequentError(() => flow.addStep('a#b')).message).toMatch(/contains "#" or "@"/);
    expect(sequentError(() => flow.addStep('s1')).message).toMatch(/Step "s1" is already defined/);
    s1.addStep('x');
    expect(sequentError(() => flow.addStep('s1_x')).message).toMatch(
      /would have path "s1_x", which step "s1_x" already has/,
    );
    expect(sequentError(() => flow.addStep('t', { triggers: {} } as never)).message).toMatch(
      /requires` instead of triggers/,
    );
  });

  it('rejects leaf work on containers and bad container options', () => {
    const flow = sandbox().flow();
    const leaf = flow.addStep('leaf', { func: () => 1 });
    const error = sequentError(() => leaf.addStep('child'));
    expect(error.steps).toEqual(['leaf']);
    expect(error.message).toMatch(/has func, so it is a leaf and cannot hold steps/);
    expect(sequentError(() => flow.addStep('r', { repeats: [1], func: () => 1 })).message).toMatch(
      /repeats is for containers/,
    );
    expect(sequentError(() => flow.addStep('s', { repeats: 3 as never })).message).toMatch(
      /repeats must be an iterable/,
    );
    expect(sequentError(() => flow.addStep('t', { repeats: 'abc' as never })).message).toMatch(
      /repeats must be an iterable/,
    );
    expect(sequentError(() => flow.addStep('u', { func: 'nope' as never })).message).toMatch(
      /func must be a function/,
    );
    expect(
      sequentError(() => flow.addStep('v', { func: () => 1, command: ['true'] } as never)).message,
    ).toMatch(/not func and command/);
    const pool = new ResourcePool('small', { limit: 1 });
    expect(sequentError(() => flow.addStep('w', { acquires: [[pool, 2]] })).message).toMatch(
      /could never start/,
    );
    expect(() => flow.addStep('d', { delay: 'soon' })).toThrow(FlowConfigError);
  });

  it("checks a step's eventor options with eventor's checks when the step is added", () => {
    const flow = sandbox().flow();
    const error = sequentError(() => flow.addStep('m', { module: 42 as never }));
    expect(error).toMatchObject({ code: 'SEQUENT_DEFINITION' });
    expect(error.message).toMatch(/Step "m": module must be a path or a URL/);
    expect(error.cause).toBeInstanceOf(FlowDefinitionError);
    const c = flow.addStep('c');
    expect(sequentError(() => c.addStep('x', { command: [] as never })).message).toMatch(
      /Step "c_x": command must be a non-empty string/,
    );
    const pool = new ResourcePool('p', { limit: 2 });
    expect(sequentError(() => flow.addStep('r', { acquires: [[pool, -1]] })).message).toMatch(
      /acquires of pool "p" must be a whole number/,
    );
  });

  it('rejects changes after the first run, and leaves eventor errors of leaf options to run()', async () => {
    const box = sandbox();
    const flow = box.flow();
    const a = flow.addStep('a', { func: () => 1 });
    await flow.run();
    expect(sequentError(() => flow.addStep('late')).code).toBe('SEQUENT_COMPILED');
    expect(sequentError(() => a.addRequires([a, StepStatus.success])).message).toMatch(
      /compiled by its first run\(\)/,
    );

    const other = box.flow({ name: 'other', store: box.anotherStore('other.run.db') });
    const c = other.addStep('c');
    c.addStep('bad', { func: () => 1, config: { nonsense: true } as never });
    await expect(other.run()).rejects.toThrow(/Step "c_bad": unknown config option "nonsense"/);
    await expect(other.run()).rejects.toThrow(/unknown config option/);
  });
});
