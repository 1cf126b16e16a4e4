import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { StepStatus } from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

const ESC = '\u001b';
const CURSOR_UP = new RegExp(`${ESC}\\[\\d+A\\r`, 'g');
const ANY_ESCAPE = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g');

/** Makes process.stderr a terminal for the test and keeps what is written to it. */
function fakeTerminal(): { text: () => string } {
  const stderr = process.stderr as NodeJS.WriteStream & { isTTY: boolean };
  const saved = { isTTY: stderr.isTTY, columns: stderr.columns, rows: stderr.rows };
  Object.assign(stderr, { isTTY: true, columns: 100, rows: 30 });
  const chunks: string[] = [];
  const write = vi.spyOn(stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  onTestFinished(() => {
    write.mockRestore();
    Object.assign(stderr, saved);
  });
  return { text: () => chunks.join('') };
}

describe('Sequent run({ progress })', () => {
  it('nests the steps by container and hides the bookkeeping steps', async () => {
    const box = sandbox();
    const flow = box.flow();
    const s1 = flow.addStep('s1', { repeats: [1, 2] });
    const s11 = s1.addStep('s11', { func: () => 1 });
    s1.addStep('s12', { func: () => 2, requires: [[s11, StepStatus.success]] });
    flow.addStep('s2', { func: () => 3, requires: [[s1, StepStatus.success]] });
    const terminal = fakeTerminal();
    const result = await flow.run({ progress: true });
    expect(result.ok).toBe(true);
    const frames = terminal.text().split(CURSOR_UP);
    const last = (frames.at(-1) as string)
      .replace(ANY_ESCAPE, '')
      .split('\n')
      .filter((line) => line.trim().length > 0);
    expect(last[0]).toMatch(/^succeeded in \S+ · 5 done · 0 running · 0 failed · run r-/);
    expect(last.slice(1)).toEqual([
      '  ✔ s1  4 done',
      '    ✔ s11  2 done',
      '    ✔ s12  2 done',
      '  ✔ s2  1 done',
    ]);
  });
});
