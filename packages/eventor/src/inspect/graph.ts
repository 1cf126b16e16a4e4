/** A flow's graph as a run recorded it: nodes, edges and step states; the text formats are the presentations'. */
import type { Expr } from '../model/expression.js';
import type { FlowShape } from '../model/flow.js';
import type { TaskRow } from '../store/types.js';
import { formatDelay } from '../text.js';

/** What a step's tasks came to, for colouring: the worst status among its latest tasks. */
export type StepState = 'success' | 'skipped' | 'failure' | 'active' | 'waiting';

export interface GraphNode {
  id: string;
  kind: 'event' | 'step' | 'and' | 'or';
  /** The event or step name; 'and' / 'or' for expression nodes. */
  name: string;
  state?: StepState;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** assoc: event -> step/event; expr: an expression's input; trigger: step status -> event. */
  kind: 'assoc' | 'expr' | 'trigger';
  /** The delay of an assoc, or the status of a trigger. */
  label?: string;
}

export interface FlowGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Turns a flow's shape into nodes and edges; `states` colours steps by what their tasks came to. */
export function buildGraph(shape: FlowShape, states?: ReadonlyMap<string, StepState>): FlowGraph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const events = new Map<string, string>();
  const steps = new Map<string, string>();
  let ops = 0;

  const eventId = (name: string): string => {
    let id = events.get(name);
    if (id === undefined) {
      id = `e${events.size}`;
      events.set(name, id);
      nodes.push({ id, kind: 'event', name });
    }
    return id;
  };
  const stepId = (name: string): string => {
    let id = steps.get(name);
    if (id === undefined) {
      id = `s${steps.size}`;
      steps.set(name, id);
      const node: GraphNode = { id, kind: 'step', name };
      const state = states?.get(name);
      if (state) node.state = state;
      nodes.push(node);
    }
    return id;
  };
  /** The node an expression's value flows out of: the event itself, or a new and/or node. */
  const exprNode = (expr: Expr): string => {
    if (expr.op === 'event') return eventId(expr.name);
    const id = `x${ops++}`;
    nodes.push({ id, kind: expr.op, name: expr.op });
    for (const item of expr.items) edges.push({ from: exprNode(item), to: id, kind: 'expr' });
    return id;
  };

  for (const event of shape.events) eventId(event.name);
  for (const step of shape.steps) stepId(step.name);
  for (const event of shape.events) {
    if (event.expr) edges.push({ from: exprNode(event.expr), to: eventId(event.name), kind: 'expr' });
  }
  for (const assoc of shape.assocs) {
    for (const target of assoc.targets) {
      const edge: GraphEdge = {
        from: eventId(assoc.event),
        to: target.kind === 'step' ? stepId(target.name) : eventId(target.name),
        kind: 'assoc',
      };
      if (assoc.delayMs) edge.label = formatDelay(assoc.delayMs);
      edges.push(edge);
    }
  }
  for (const step of shape.steps) {
    for (const [status, fired] of Object.entries(step.triggers ?? {})) {
      for (const event of fired) {
        edges.push({ from: stepId(step.name), to: eventId(event), kind: 'trigger', label: status });
      }
    }
  }
  return { nodes, edges };
}

const RANK: Record<StepState, number> = { failure: 4, active: 3, waiting: 2, success: 1, skipped: 0 };

/** Per step, the worst state among its tasks of the latest recovery that has any for that step. */
export function stepStates(tasks: readonly TaskRow[]): Map<string, StepState> {
  const latest = new Map<string, number>();
  for (const task of tasks) latest.set(task.step, Math.max(latest.get(task.step) ?? -1, task.recovery));
  const states = new Map<string, StepState>();
  for (const task of tasks) {
    if (task.recovery !== latest.get(task.step)) continue;
    const state = taskState(task);
    const current = states.get(task.step);
    if (current === undefined || RANK[state] > RANK[current]) states.set(task.step, state);
  }
  return states;
}

function taskState(task: TaskRow): StepState {
  if (task.status === 'failure') return 'failure';
  if (task.status === 'active') return 'active';
  if (task.status === 'success') return task.skipped ? 'skipped' : 'success';
  return 'waiting';
}
