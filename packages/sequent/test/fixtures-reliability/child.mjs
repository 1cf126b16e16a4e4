// A sequent crash-harness child: builds the spec's flow on the BUILT package and runs it, unless
// it is killed first. node child.mjs <spec.json> <store> <dir> <restart|recover>
// FLOW_FAULT_KILL (the engine's commit hook) and FLOW_CRASH_AT_CALL=K (kill inside the K-th inline
// leaf call) as in eventor's fixtures-reliability/child.mjs; sends { type: 'running' } before run().
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

const flow = buildFlow(lib, spec, { store, dir, runMode, onCall });
process.send?.({ type: 'running', pid: process.pid });
const result = await flow.run();
flow.close();
process.send?.({ type: 'done', result }, () => process.exit(result.ok ? 0 : 3));
