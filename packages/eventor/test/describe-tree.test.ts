import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { currentStep, Eventor, FlowDefinitionError, type TreeDescription } from '../src/index.js';
import { assertBuilt, eventorOk, tempDir } from './fixtures-cli/cli.js';
import { parseTreeMermaid } from './fixtures-tree/tree-parse.js';

beforeAll(() => assertBuilt());

/**
 * A loop built by hand, with names and sequences nothing like sequent's: `loop-begin` (in 'run')
 * starts iterations 'run/1' and 'run/2'; `loop-child` runs in each and fires `loop-ok` there; the
 * last one fires `loop-done` in 'run', which runs `loop-end`; `after` runs once `loop-end` succeeded.
 */
function handMadeLoop(store: string, runMode: 'restart' | 'continue' = 'restart'): Eventor {
  const ev = new Eventor({ name: 'loop', store, runMode, runId: 'r-loop', logLevel: 'silent' });
  const go = ev.addEvent('go');
  const iter = ev.addEvent('loop-iter');
  const ok = ev.addEvent('loop-ok');
  const done = ev.addEvent('loop-done');
  const ended = ev.addEvent('loop-ended');
  const begin = ev.addStep('loop-begin', {
    func: () => {
      const { sequence } = currentStep();
      ev.triggerEvent(iter, `${sequence}/1`);
      ev.triggerEvent(iter, `${sequence}/2`);
    },
  });
  const child = ev.addStep('loop-child', {
    func: () => {
      if (currentStep().sequence === 'run/2') ev.triggerEvent(done, 'run');
      return 'done';
    },
    triggers: { success: [ok] },
  });
  const end = ev.addStep('loop-end', { triggers: { success: [ended] } });
  const after = ev.addStep('after', { func: () => 'after' });
  ev.addAssoc(go, begin);
  ev.addAssoc(iter, child);
  ev.addAssoc(done, end);
  ev.addAssoc(ended, after);
  ev.triggerEvent(go, 'run');
  return ev;
}

function loopTree(repeats: number): TreeDescription {
  return {
    sequence: 'run',
    iterationSeparator: '/',
    nodes: [
      {
        kind: 'container',
        name: 'loop',
        path: 'loop',
        repeats,
        children: [{ kind: 'leaf', name: 'child', path: 'loop.child', step: 'loop-child' }],
        steps: { begin: 'loop-begin', success: 'loop-end' },
        iteration: { start: 'loop-iter', success: 'loop-ok' },
        bookkeeping: ['loop-begin', 'loop-end'],
      },
      {
        kind: 'leaf',
        name: 'after',
        path: 'after',
        step: 'after',
        requires: { node: 'loop', status: 'success' },
      },
    ],
  };
}

describe('Eventor.describeTree', () => {
  it('stores a tree that the tools show, read through the names it lists, not parsed from them', async () => {
    const store = join(tempDir('eventor-tree-'), 'loop.run.db');
    const ev = handMadeLoop(store);
    ev.describeTree(loopTree(2));
    expect(await ev.run()).toMatchObject({ ok: true, status: 'success' });
    ev.close();
    const tree = parseTreeMermaid(eventorOk('graph', store).trimEnd());
    expect(tree.nodes.get('loop')?.lines).toEqual([
      'loop',
      'success',
      '2 iterations',
      'run/1 success · run/2 success',
    ]);
    expect(tree.nodes.get('child')).toMatchObject({ parent: 'loop', lines: ['child', 'success'] });
    expect(tree.edges).toEqual([{ from: 'loop', to: 'after', label: 'success', alternative: false }]);
    const show = eventorOk('show', store);
    expect(show).toContain('(2 bookkeeping tasks not shown: --compiled shows them)');
    expect(show).toMatch(/ {4}loop\.child +success +2 success\n/);
  });

  it('keeps a tree that changed alone (the compiled flow the same) when the run is taken up again', async () => {
    const store = join(tempDir('eventor-tree-'), 'loop.run.db');
    const first = handMadeLoop(store);
    first.describeTree(loopTree(2));
    await first.run();
    first.close();
    const again = handMadeLoop(store, 'continue');
    again.describeTree(loopTree(3));
    await again.run();
    again.close();
    const tree = parseTreeMermaid(eventorOk('graph', store).trimEnd());
    expect(tree.nodes.get('loop')?.lines[2]).toBe('3 iterations');
  });

  it('refuses a tree that names what the flow does not define, or is malformed, naming the node', () => {
    const ev = new Eventor({ store: ':memory:', logLevel: 'silent' });
    ev.addStep('a');
    ev.addEvent('e');
    const leaf = (extra: object = {}) => ({ kind: 'leaf', name: 'a', path: 'a', step: 'a', ...extra });
    const tree = (nodes: unknown[]) => ({ sequence: '1', iterationSeparator: '.', nodes }) as TreeDescription;
    const refuses = (value: unknown, message: string) => {
      expect(() => ev.describeTree(value as TreeDescription)).toThrow(FlowDefinitionError);
      expect(() => ev.describeTree(value as TreeDescription)).toThrow(message);
    };
    refuses(tree([leaf({ step: 'b' })]), 'node "a": "step" names step "b", which the flow does not define');
    refuses(tree([leaf(), leaf()]), 'node "a" is described twice');
    refuses(
      tree([leaf({ requires: { node: 'x', status: 'success' } })]),
      'names node "x", which the tree does not have',
    );
    refuses(
      tree([leaf({ requires: { node: 'a', status: 'done' } })]),
      '"status" must be one of ready, active, success, failure, complete',
    );
    refuses(tree([leaf({ colour: 'red' })]), 'has an unknown field "colour"');
    refuses({ nodes: [] }, '"sequence" must be a non-empty string');
    refuses(
      tree([
        {
          kind: 'container',
          name: 'c',
          path: 'c',
          children: [],
          steps: { begin: 'a', success: 'a' },
          iteration: { start: 'nope', success: 'e' },
          bookkeeping: [],
        },
      ]),
      'node "c": "iteration.start" names event "nope"',
    );
    ev.describeTree(tree([leaf()]));
    ev.close();
  });
});
