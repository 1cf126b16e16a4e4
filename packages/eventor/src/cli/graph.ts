import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildGraph, type FlowGraph, stepStates } from '../inspect/graph.js';
import { runShape, runState } from '../inspect/reader.js';
import { RunTree } from '../inspect/tree.js';
import { buildTreeGraph, type TreeGraph } from '../inspect/tree-graph.js';
import type { RunRow } from '../store/types.js';
import {
  type Command,
  findRun,
  type Io,
  LookupError,
  openStore,
  parseOrUsage,
  positionals,
  STORE_HELP,
  UsageError,
} from './command.js';
import { renderDot, renderMermaid, renderTreeDot, renderTreeMermaid, TREE_STYLE } from './graph-render.js';
import { storedTree } from './tree.js';

const FORMATS = ['mermaid', 'dot', 'svg', 'html'];

const HELP = `Usage: eventor graph <store> [runId] [--format mermaid|dot|svg|html] [--out FILE] [--compiled]

${STORE_HELP}

Draws the flow's shape as a run recorded it (default: the latest run): events (rounded), steps
(boxes), and/or nodes of expressions (dotted inputs), assocs (event -> step or event, labelled with
their delay) and step triggers (step -> event, labelled with the status that fires them).

Each step is coloured by what its tasks came to in the latest recovery that ran it: failure if any
task failed, else active if any runs, else waiting (ready / allocate), else success
(skipped when recovery skipped all of them). A step without tasks is left white.

A run of a flow written as a tree (a sequent flow) is drawn as that tree: each container a box
holding its children, with its iterations ("3 iterations: 1.1 success, 1.2 failure, ...");
requires as arrows labelled with the status they wait for; the eventor steps and events it was
compiled to are left out. Nodes are coloured by the run's current recovery; grey: it will not run.
--compiled draws the eventor graph instead.

svg and html are laid out by Graphviz compiled to WebAssembly (@viz-js/viz, a dependency of eventor):
nothing else needs to be installed.

Options:
  --format F  mermaid (default): a flowchart for Markdown (GitHub renders it)
              dot: Graphviz's language, for your own tools
              svg: an image; html: a page holding the image and a legend of the colours
  --out FILE  write to FILE instead of stdout
  --compiled  for a tree's run, draw the eventor events and steps it was compiled to
  -h, --help  show this help

Examples:
  eventor graph run.db --format svg --out flow.svg
  eventor graph run.db r-20261123T154232Z-21d7f8 --format html --out run.html`;

export const graphCommand: Command = {
  name: 'graph',
  summary: "draw the flow's events, steps, assocs and expressions (mermaid, dot, svg, html)",
  help: HELP,
  async run(args: string[], io: Io): Promise<number> {
    const { values, positionals: given } = parseOrUsage('graph', () =>
      parseArgs({
        args,
        allowPositionals: true,
        strict: true,
        options: {
          format: { type: 'string', short: 'f', default: 'mermaid' },
          out: { type: 'string', short: 'o' },
          compiled: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
      }),
    );
    if (values.help) {
      io.out(HELP);
      return 0;
    }
    const [storePath, runId] = positionals('graph', given, { required: ['store'], optional: ['runId'] }) as [
      string,
      string | undefined,
    ];
    const format = values.format;
    if (!FORMATS.includes(format)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(', ')}; got "${format}"`, 'graph');
    }
    const reader = openStore('graph', storePath);
    let graph: FlowGraph | TreeGraph;
    let run: RunRow;
    try {
      run = findRun(reader, runId);
      const shape = runShape(run);
      if (!shape) {
        throw new LookupError(
          `Run "${run.id}" has no recorded shape: run() was never called on it, so its flow is unknown.`,
        );
      }
      const tree = values.compiled ? undefined : storedTree(run);
      graph = tree
        ? buildTreeGraph(RunTree.read(reader, run, tree))
        : buildGraph(shape, stepStates(reader.tasks(run.id)));
    } finally {
      reader.close();
    }
    const text = await render(graph, run, format);
    if (values.out === undefined) io.out(text);
    else {
      try {
        writeFileSync(values.out, `${text}\n`);
      } catch (error) {
        throw new LookupError(`Cannot write the graph to "${values.out}": ${(error as Error).message}`);
      }
    }
    return 0;
  },
};

async function render(graph: FlowGraph | TreeGraph, run: RunRow, format: string): Promise<string> {
  const tree = 'roots' in graph;
  if (format === 'mermaid') return tree ? renderTreeMermaid(graph) : renderMermaid(graph);
  const dot = tree ? renderTreeDot(graph, run.name) : renderDot(graph, run.name);
  if (format === 'dot') return dot;
  const { htmlPage, renderSvg } = await import('./graph-svg.js');
  const svg = await renderSvg(dot);
  if (format === 'svg') return svg.trimEnd();
  const states = tree
    ? graph.nodes.flatMap((node) => (TREE_STYLE[node.state] ? [node.state] : []))
    : graph.nodes.flatMap((node) => (node.state ? [node.state] : []));
  return htmlPage(svg, `Run ${run.id} (${run.name}) · ${runState(run)}`, states);
}
