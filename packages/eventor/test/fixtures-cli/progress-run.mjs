// Runs the progress flow with run({ progress: true }) on the built package, as a user's program does.
// Usage: node progress-run.mjs <store> [stepMs]. Prints RESULT <json> on stdout at the end.
import * as lib from '../../dist/index.js';
import { buildProgress } from './flows.mjs';

const [store, ms = '300'] = process.argv.slice(2);
const ev = buildProgress(lib, { store, ms: Number(ms) });
try {
  const result = await ev.run({ progress: true });
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
} finally {
  ev.close();
}
