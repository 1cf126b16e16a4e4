import { parseDuration, type TreeDescription, type TreeNode, type TreeRequirement } from '@flow/eventor';
import {
  beginStep,
  FLOW_SEQUENCE,
  failStep,
  finishStep,
  ITERATION_SEPARATOR,
  iterEvent,
  iterFailEvent,
  iterOkEvent,
} from './names.js';
import { isContainer, type Req, type StepNode } from './step.js';
import type { FlowTree } from './tree.js';

/** What the compiler made of each step, beyond what its names say. */
export interface CompiledTree {
  /** The eventor step of a leaf. */
  leafStep(node: StepNode): string;
  /** The bookkeeping steps it added for a container. */
  bookkeepingOf(node: StepNode): readonly string[];
  /** True when the container has `#ifail`/`#stop`/`#fail`: something waits for its failure. */
  failsVisibly(node: StepNode): boolean;
}

/**
 * The tree as eventor's tools show it (`Eventor.describeTree`): each step as written, with the
 * compiled steps and events that tell its status, so eventor never reads sequent's names.
 */
export function describeFlowTree(tree: FlowTree, compiled: CompiledTree): TreeDescription {
  return {
    sequence: FLOW_SEQUENCE,
    iterationSeparator: ITERATION_SEPARATOR,
    nodes: tree.root.children.map((node) => describeNode(node, compiled)),
  };
}

function describeNode(node: StepNode, compiled: CompiledTree): TreeNode {
  const base: { name: string; path: string; requires?: TreeRequirement; delayMs?: number } = {
    name: node.name,
    path: node.path,
  };
  if (node.requires.length > 0) base.requires = requirement({ kind: 'and', items: node.requires });
  if (node.options.delay !== undefined)
    base.delayMs = parseDuration(node.options.delay, `${node.path} delay`);
  if (!isContainer(node)) return { kind: 'leaf', ...base, step: compiled.leafStep(node) };
  const p = node.path;
  const fails = compiled.failsVisibly(node);
  return {
    kind: 'container',
    ...base,
    children: node.children.map((child) => describeNode(child, compiled)),
    ...(node.repeats === undefined ? {} : { repeats: node.repeats.length }),
    steps: { begin: beginStep(p), success: finishStep(p), ...(fails ? { failure: failStep(p) } : {}) },
    iteration: {
      start: iterEvent(p),
      success: iterOkEvent(p),
      ...(fails ? { failure: iterFailEvent(p) } : {}),
    },
    bookkeeping: [...compiled.bookkeepingOf(node)],
  };
}

/** A requirement by paths; a group of one is its item. */
function requirement(req: Req): TreeRequirement {
  if (req.kind === 'status') return { node: req.target.path, status: req.status };
  if (req.items.length === 1) return requirement(req.items[0] as Req);
  return { op: req.kind, items: req.items.map(requirement) };
}
