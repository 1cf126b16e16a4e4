// A crash-harness child: builds the spec's flow on the BUILT package, as a user's program would,
// runs it and exits 0, unless it is killed first.
//   node child.mjs <spec.json> <store> <dir> <restart|recover>
// FLOW_FAULT_KILL=after:N|inside:N kills at a commit (the engine's hook); FLOW_CRASH_AT_CALL=K kills
// inside the K-th inline step call of this process, right after the call was recorded. Sends
// { type: 'running' } just before run(), so a parent can kill it a chosen time into the run.
import { readFileSync } from 'node:fs';
import * as lib from '../../dist/index.js';
import { buildFlow } from './harness.mjs';

const [specPath, store, dir, runMode] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const crashAt = Number(process.env.FLOW_CRASH_AT_CALL ?? 0);
let calls = 0;
const onCall =
  crashAt > 0
    ? () => {
        calls += 1;
        if (calls === crashAt) process.kill(process.pid, 'SIGKILL');
      }
    : undefined;

const ev = buildFlow(lib, spec, { store, dir, runMode, onCall });
process.send?.({ type: 'running', pid: process.pid });
const result = await ev.run();
ev.close();
process.send?.({ type: 'done', result }, () => process.exit(result.ok ? 0 : 3));
