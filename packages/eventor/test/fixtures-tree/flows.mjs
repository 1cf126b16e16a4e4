// Sequent flows for the tree tests (CLI, ui server, browser), run for real through @flow/sequent's
// public API: its built package, since eventor's tests cannot depend on sequent (sequent depends on
// eventor). A flow's result is the sequent run's RunResult.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SEQUENT = fileURLToPath(new URL('../../../sequent/', import.meta.url));

/** The built @flow/sequent; fails with what to do when its dist is missing or older than its src. */
export async function sequent() {
  const dist = join(SEQUENT, 'dist');
  let built = 0;
  try {
    built = newest(dist);
  } catch {
    // missing: reported below
  }
  if (built === 0 || newest(join(SEQUENT, 'src')) > built) {
    throw new Error(
      'packages/sequent/dist is missing or older than its src: build it with `pnpm build` at the root (pnpm test does).',
    );
  }
  return import(new URL('index.js', `file://${dist}/`).href);
}

function newest(dir) {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return time;
}

/**
 * batch repeats three times (mon, tue, wed): extract, then load once extract succeeded. extract
 * fails in iteration `failIn` (default 1.2; '' for none). report requires batch's success, alert its
 * failure (which makes that failure handled; without `alert: true`, nothing handles it).
 */
export async function batchFlow({
  store,
  runMode = 'restart',
  runId = 'r-etl',
  failIn = '1.2',
  alert = true,
}) {
  const { Sequent, StepStatus } = await sequent();
  const flow = new Sequent({ name: 'etl', store, runMode, runId, logLevel: 'silent' });
  const batch = flow.addStep('batch', { repeats: ['mon', 'tue', 'wed'] });
  const extract = batch.addStep('extract', {
    func: () => {
      if (flow.getStepSequence() === failIn) throw new Error(`no data in ${failIn}`);
      return 'rows';
    },
  });
  batch.addStep('load', { func: () => 'loaded', requires: [[extract, StepStatus.success]] });
  flow.addStep('report', { func: () => 'sent', requires: [[batch, StepStatus.success]] });
  if (alert) flow.addStep('alert', { func: () => 'paged', requires: [[batch, StepStatus.failure]] });
  try {
    return await flow.run();
  } finally {
    flow.close();
  }
}

/**
 * Every kind of node: setup; batch (2 iterations, after setup) holding extract, a group `check`
 * (no repeats) holding verify, and parts (2 iterations per batch iteration) holding fetch and
 * store (which needs setup too, from outside); load after 5ms; report on or(batch success, setup
 * failure).
 */
export async function nestedFlow({ store, runId = 'r-nested' }) {
  const { Sequent, StepStatus, or } = await sequent();
  const flow = new Sequent({ name: 'nested', store, runId, logLevel: 'silent' });
  const setup = flow.addStep('setup', { func: () => 'ready' });
  const batch = flow.addStep('batch', { repeats: [1, 2], requires: [[setup, StepStatus.success]] });
  const extract = batch.addStep('extract', { func: () => 'rows' });
  const check = batch.addStep('check', { requires: [[extract, StepStatus.success]] });
  check.addStep('verify', { func: () => true });
  const parts = batch.addStep('parts', { repeats: ['a', 'b'], requires: [[check, StepStatus.success]] });
  const fetch = parts.addStep('fetch', { func: () => 'part' });
  parts.addStep('store', {
    func: () => 'stored',
    requires: [
      [fetch, StepStatus.success],
      [setup, StepStatus.success],
    ],
  });
  batch.addStep('load', { func: () => 'loaded', requires: [[parts, StepStatus.complete]], delay: '5ms' });
  flow.addStep('report', {
    func: () => 'sent',
    requires: [or([batch, StepStatus.success], [setup, StepStatus.failure])],
  });
  try {
    return await flow.run();
  } finally {
    flow.close();
  }
}

/**
 * Requirements on a step outside the container: gate (top level) fails, which fix handles; batch
 * (2 iterations) holds a, which requires gate to complete, and b, which requires gate to succeed.
 */
export async function outsideFlow({ store, runId = 'r-outside' }) {
  const { Sequent, StepStatus } = await sequent();
  const flow = new Sequent({ name: 'outside', store, runId, logLevel: 'silent' });
  const gate = flow.addStep('gate', {
    func: () => {
      throw new Error('closed');
    },
  });
  flow.addStep('fix', { func: () => 'fixed', requires: [[gate, StepStatus.failure]] });
  const batch = flow.addStep('batch', { repeats: [1, 2] });
  batch.addStep('a', { func: () => 'a', requires: [[gate, StepStatus.complete]] });
  batch.addStep('b', { func: () => 'b', requires: [[gate, StepStatus.success]] });
  try {
    return await flow.run();
  } finally {
    flow.close();
  }
}

/** A tree whose container and step are named with HTML (sequent allows any name without # or @). */
export async function hostileTree({ store, name, runId = 'r-hostile' }) {
  const { Sequent } = await sequent();
  const flow = new Sequent({ name: `tree ${name}`, store, runId, logLevel: 'silent' });
  const box = flow.addStep(name, { repeats: [1, 2] });
  box.addStep(`${name}-step`, { func: () => 'ok' });
  try {
    return await flow.run();
  } finally {
    flow.close();
  }
}

/**
 * A sequent run still going: batch (2 iterations) runs work, which waits in iteration 1.2 until
 * open() is called. `started` resolves once it waits; `done` with the run's result.
 */
export async function gatedTree({ store, runId = 'r-live' }) {
  const { Sequent } = await sequent();
  let open;
  const gate = new Promise((resolve) => {
    open = resolve;
  });
  let started;
  const waiting = new Promise((resolve) => {
    started = resolve;
  });
  const flow = new Sequent({ name: 'live', store, runId, logLevel: 'silent' });
  const batch = flow.addStep('batch', { repeats: [1, 2] });
  batch.addStep('work', {
    func: async () => {
      if (flow.getStepSequence() === '1.2') {
        started();
        await gate;
      }
      return 'done';
    },
  });
  const done = flow.run().finally(() => flow.close());
  return { runId, open, done, started: waiting };
}

/** box repeats nothing, so inner never runs and box succeeds at once; after requires box's success. */
export async function emptyFlow({ store, runId = 'r-empty' }) {
  const { Sequent, StepStatus } = await sequent();
  const flow = new Sequent({ name: 'empty', store, runId, logLevel: 'silent' });
  const box = flow.addStep('box', { repeats: [] });
  box.addStep('inner', { func: () => 'never' });
  flow.addStep('after', { func: () => 'after', requires: [[box, StepStatus.success]] });
  try {
    return await flow.run();
  } finally {
    flow.close();
  }
}
