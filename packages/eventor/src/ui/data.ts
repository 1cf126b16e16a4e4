import type { SerializedError } from '../describe.js';
import { diagnoseStep, type StepDiagnosis } from '../inspect/diagnose.js';
import { renderDiagnosis } from '../inspect/diagnosis-text.js';
import { buildGraph, type FlowGraph, stepStates } from '../inspect/graph.js';
import {
  type Reader,
  type RunSummary,
  type RunsPageQuery,
  resultAsJson,
  runShape,
  runState,
} from '../inspect/reader.js';
import { iterationsOf, iterationText, RunTree, runTree } from '../inspect/tree.js';
import { diagnoseNode, type TreeDiagnosis } from '../inspect/tree-diagnose.js';
import { renderTreeDiagnosis } from '../inspect/tree-diagnosis-text.js';
import { buildTreeGraph, type TreeGraph } from '../inspect/tree-graph.js';
import type { FlowShape } from '../model/flow.js';
import type { RunRow, TaskRow } from '../store/types.js';
import { shellWord } from '../text.js';
import { pageTreeDot } from './graph.js';
import type { TaskJson, TreeJson, TreeNodeJson } from './page/api.js';

/** Run states a reader sees (runState), for the runs filter. */
export const RUN_STATES = ['running', 'interrupted', 'success', 'failure'] as const;

export interface RunJson {
  id: string;
  name: string;
  mode: string;
  recovery: number;
  status: string;
  startedAt: number;
  endedAt: number | null;
  durationMs: number | null;
  tasks: { success: number; failure: number; skipped: number; pending: number };
  pendingDelays: number;
}

export interface RunsPage {
  total: number;
  offset: number;
  limit: number;
  runs: RunJson[];
}

/** A page of runs, newest first, filtered by a part of the name (or id) and by status. */
export function runsPage(reader: Reader, query: RunsQuery, now: number): RunsPage {
  const result = reader.listRunsPage(query);
  return {
    total: result.total,
    offset: query.offset,
    limit: query.limit,
    runs: result.runs.map((run) => runJson(run, now)),
  };
}

export type RunsQuery = RunsPageQuery;

export function runJson(run: RunSummary, now: number): RunJson {
  return {
    id: run.id,
    name: run.name,
    mode: run.mode,
    recovery: run.recovery,
    status: run.state,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    durationMs: duration(run, run.state, now),
    tasks: { success: run.success, failure: run.failure, skipped: run.skipped, pending: run.pending },
    pendingDelays: run.delays,
  };
}

function duration(run: RunRow, state: string, now: number): number | null {
  if (state === 'running') return now - run.startedAt;
  return run.endedAt === null ? null : run.endedAt - run.startedAt;
}

export interface StepJson {
  name: string;
  /** The graph node's id (the SVG element is `n_<node>`). */
  node: string;
  /** What its tasks came to in the latest recovery that ran it (as `eventor graph <runId>`), or none. */
  state: string;
}

export interface RunDetail {
  run: Omit<RunJson, 'tasks' | 'pendingDelays'>;
  steps: StepJson[];
  /** Recoveries the run has tasks in, oldest first. */
  recoveries: number[];
  /** Changes when the flow's recorded shape does: the page fetches the graph again. */
  shapeKey: string;
  /** A run of a flow written as a tree (sequent): the tree, drawn by default. */
  tree?: TreeJson;
}

/** A run with its steps' states; the graph of `shape` gives the node ids; `tree` the tree's. */
export function runDetail(
  run: RunRow,
  tasks: readonly TaskRow[],
  graph: FlowGraph | undefined,
  now: number,
  tree?: TreeView,
) {
  const state = runState(run);
  const states = stepStates(tasks);
  const steps: StepJson[] = (graph?.nodes ?? [])
    .filter((node) => node.kind === 'step')
    .map((node) => ({ name: node.name, node: node.id, state: states.get(node.name) ?? 'none' }));
  const recoveries = [...new Set(tasks.map((task) => task.recovery))].sort((a, b) => a - b);
  const detail: RunDetail = {
    run: {
      id: run.id,
      name: run.name,
      mode: run.mode,
      recovery: run.recovery,
      status: state,
      startedAt: run.startedAt,
      endedAt: run.endedAt,
      durationMs: duration(run, state, now),
    },
    steps,
    recoveries,
    shapeKey: shapeKey(run),
  };
  if (tree) detail.tree = treeJson(tree);
  return detail;
}

/** A run's tree as the page draws it: the model, its drawing, and the drawing's DOT and key. */
export interface TreeView {
  model: RunTree;
  graph: TreeGraph;
  dot: string;
  key: string;
}

/**
 * The tree view of a run of a flow written as a tree (its tasks read unless given); undefined for
 * a plain eventor run, or a tree the store holds damaged (the page then draws the eventor graph).
 */
export function treeView(reader: Reader, run: RunRow, tasks?: readonly TaskRow[]): TreeView | undefined {
  const stored = runTree(run);
  if (!('tree' in stored)) return undefined;
  const rows = tasks ?? reader.tasks(run.id);
  const model = new RunTree(stored.tree, run, rows, reader.firedTriggers(run.id, run.recovery));
  const graph = buildTreeGraph(model);
  const dot = pageTreeDot(graph, run.name);
  return { model, graph, dot, key: `tree-${hashText(dot)}` };
}

function treeJson(view: TreeView): TreeJson {
  const nodes: TreeNodeJson[] = view.graph.nodes.map((g) => {
    const node = view.model.node(g.path);
    const out: TreeNodeJson = { path: g.path, name: g.name, kind: g.kind, node: g.id, state: g.state };
    const parent = node ? view.model.parent(node) : undefined;
    if (parent) out.parent = parent.path;
    if (node?.kind === 'leaf') out.step = node.step;
    if (node?.kind === 'container' && node.repeats !== undefined) {
      out.iterations = iterationsOf(view.model, node).map((it) => ({
        sequence: it.sequence,
        state: it.state,
      }));
    }
    if (g.iterations) out.summary = iterationText(g.iterations);
    return out;
  });
  return { key: view.key, nodes };
}

export function shapeKey(run: RunRow): string {
  return hashText(run.shape ?? '');
}

function hashText(text: string): string {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return `${text.length}-${(hash >>> 0).toString(36)}`;
}

export function runGraph(run: RunRow): { shape: FlowShape; graph: FlowGraph } | undefined {
  const shape = runShape(run);
  return shape ? { shape, graph: buildGraph(shape) } : undefined;
}

export function taskJson(row: TaskRow): TaskJson {
  const done = row.status === 'success' || row.status === 'failure';
  const out: TaskJson = {
    step: row.step,
    sequence: row.sequence,
    recovery: row.recovery,
    status: row.status,
    skipped: row.skipped === 1,
    attempts: row.attempts,
    durationMs: done && row.skipped === 0 ? row.updatedAt - row.createdAt : null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  const result = resultAsJson(row);
  if (result.has) out.result = result.value;
  if (row.error !== null) {
    const error = parseOr(row.error);
    out.error =
      typeof error === 'object' && error !== null
        ? (error as SerializedError)
        : { name: 'Error', message: String(row.error) };
  }
  return out;
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface TaskQuery {
  statuses: string[];
  steps: string[];
  recovery?: number;
  sequence?: string;
}

/** The run's tasks, filtered as `eventor show` filters them (skipped and pending included). */
export function tasksOf(reader: Reader, runId: string, query: TaskQuery): TaskJson[] {
  const inSql = !query.statuses.includes('skipped');
  const filter: { statuses: string[]; steps: string[]; recovery?: number } = {
    statuses: inSql ? query.statuses : [],
    steps: query.steps,
  };
  if (query.recovery !== undefined) filter.recovery = query.recovery;
  let rows = reader.tasks(runId, filter);
  if (!inSql) rows = rows.filter((row) => query.statuses.some((status) => hasStatus(row, status)));
  if (query.sequence !== undefined) rows = rows.filter((row) => row.sequence === query.sequence);
  return rows.map(taskJson);
}

function hasStatus(row: TaskRow, status: string): boolean {
  if (status === 'skipped') return row.skipped === 1;
  if (status === 'pending') return row.status !== 'success' && row.status !== 'failure';
  return row.status === status;
}

/**
 * `eventor why`'s answer for a step, the diagnosis and its text as the command prints them: in the
 * tree's terms for a node of a tree's run (a path), unless `compiled`.
 */
export function whyOf(
  reader: Reader,
  run: RunRow,
  shape: FlowShape,
  step: string,
  sequence: string | undefined,
  now: number,
  tree?: RunTree,
): { diagnosis: StepDiagnosis | TreeDiagnosis; text: string } {
  const node = tree ? (tree.node(step) ?? tree.leafOfStep(step)) : undefined;
  if (tree && node) {
    const diagnosis = diagnoseNode(reader, run, shape, tree, node, sequence);
    return { diagnosis, text: renderTreeDiagnosis(diagnosis, shellWord(reader.location), now) };
  }
  const diagnosis = diagnoseStep(reader, run, shape, step, sequence);
  return { diagnosis, text: renderDiagnosis(diagnosis, shellWord(reader.location), now) };
}
