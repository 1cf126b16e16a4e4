import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSimpleFlow } from './flow.js';

// The store is a throwaway file: this example has nothing to recover.
const dir = mkdtempSync(join(tmpdir(), 'eventor-simple-'));
const { ev } = buildSimpleFlow({ store: join(dir, 'simple.run.db'), logLevel: 'info' });
try {
  const result = await ev.run();
  for (const task of ev.tasks()) {
    process.stdout.write(
      `${task.step}[${task.sequence}]: ${task.status}, result ${JSON.stringify(task.result)}\n`,
    );
  }
  process.stdout.write(`Run ${result.runId}: ${result.status}\n`);
  process.exitCode = result.ok ? 0 : 1;
} finally {
  ev.close();
  rmSync(dir, { recursive: true, force: true });
}
