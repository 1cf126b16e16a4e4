// Runs the fill flow on a store under the file size limit its parent set (`ulimit -f`), and reports
// on stdout, as one JSON line, how the run ended: the error's class, code and message, if any.
//   node --import tsx fill-child.ts <store> <sequences>
import { FlowError, StoreError } from '../../src/index.js';
import { buildFillFlow } from './fill.js';

const [store, sequences = '5'] = process.argv.slice(2);
let report: Record<string, unknown>;
try {
  const { ev, go } = buildFillFlow({ store: store as string });
  for (let i = 1; i <= Number(sequences); i++) ev.triggerEvent(go, i);
  const result = await ev.run();
  ev.close();
  report = { ended: 'result', result };
} catch (error) {
  const e = error as Error & { code?: unknown };
  report = {
    ended: 'error',
    name: e?.name,
    code: e?.code,
    message: e?.message,
    flowError: error instanceof FlowError,
    storeError: error instanceof StoreError,
  };
}
process.stdout.write(`${JSON.stringify(report)}\n`);
