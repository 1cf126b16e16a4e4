// A flow process for the crash and lease tests. It runs against the BUILT package, as a user's
// program would, and talks to the parent test over the IPC channel of child_process.fork.
//   node child.mjs crash <store> <dir> <sequences,comma,separated>
//     runs the crash flow; s2 reports { type: 'hanging' } and never ends (the parent kills us)
//   node child.mjs hold <store> <runId> [leaseTtl|-] [runMode]
//     runs the hold flow; its step reports { type: 'holding' } and waits for { type: 'release' };
//     reports { type: 'done', result } or, when claiming the run or run() throws,
//     { type: 'done', error: { name, code, message } }
//   node child.mjs chain <store> <runId> <length>
//     reports { type: 'ready' }, waits for { type: 'go' }, runs a chain of <length> steps, reports
//     { type: 'done', result, tasks } with the number of successful tasks, or { type: 'done', error }
//   node child.mjs signal <store> <runId>
//     runs the hold flow with handleSignals: true; its step reports { type: 'holding' } and waits
//     until its signal aborts (SIGINT or SIGTERM from the parent), then reports { type: 'done' }
import * as lib from '../../dist/index.js';
import { buildChainFlow, buildCrashFlow, buildHoldFlow } from './flows.mjs';

const [scenario, store, ...rest] = process.argv.slice(2);
const send = (message) => process.send?.({ pid: process.pid, ...message });

if (scenario === 'crash') {
  const [dir, sequences = '1'] = rest;
  const ev = buildCrashFlow(lib, {
    store,
    dir,
    sequences: sequences.split(','),
    onHang: (sequence) => send({ type: 'hanging', sequence, runId: ev.runId }),
  });
  send({ type: 'started', runId: ev.runId });
  await ev.run();
  send({ type: 'error', message: 'the crash flow ended although s2 should hang' });
} else if (scenario === 'hold') {
  const [runId, leaseTtl, runMode = 'restart'] = rest;
  const released = new Promise((resolve) => {
    process.on('message', (message) => {
      if (message?.type === 'release') resolve();
    });
  });
  let ev;
  try {
    ev = buildHoldFlow(lib, {
      store,
      runId,
      runMode,
      ...(leaseTtl && leaseTtl !== '-' ? { leaseTtl } : {}),
      hold: () => {
        send({ type: 'holding', runId: ev.runId });
        return released;
      },
    });
    const result = await ev.run();
    send({ type: 'done', result });
  } catch (error) {
    send({ type: 'done', error: { name: error?.name, code: error?.code, message: error?.message } });
  }
  ev?.close();
  process.disconnect();
} else if (scenario === 'chain') {
  const [runId, length] = rest;
  const go = new Promise((resolve) => {
    process.on('message', (message) => {
      if (message?.type === 'go') resolve();
    });
  });
  const ev = buildChainFlow(lib, { store, runId, length: Number(length) });
  send({ type: 'ready' });
  await go;
  try {
    const result = await ev.run();
    const tasks = ev.tasks({ status: 'success' }).length;
    send({ type: 'done', result, tasks });
  } catch (error) {
    send({ type: 'done', error: { name: error?.name, code: error?.code, message: error?.message } });
  }
  ev.close();
  process.disconnect();
} else if (scenario === 'signal') {
  const [runId] = rest;
  const ev = buildHoldFlow(lib, {
    store,
    runId,
    handleSignals: true,
    hold: () =>
      new Promise((_, reject) => {
        const { signal } = lib.currentStep();
        // a pending promise alone does not keep node alive; the step would be waiting on real work
        const keepAlive = setInterval(() => {}, 60_000);
        signal.addEventListener('abort', () => {
          clearInterval(keepAlive);
          reject(signal.reason);
        });
        send({ type: 'holding', runId: ev.runId });
      }),
  });
  const result = await ev.run();
  const tasks = ev.tasks().map((t) => ({ step: t.step, status: t.status, error: t.error?.message }));
  ev.close();
  send({ type: 'done', result, tasks });
  process.disconnect();
} else {
  console.error(`child.mjs: unknown scenario ${scenario}`);
  process.exit(2);
}
