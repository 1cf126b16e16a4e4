import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSimple } from '../src/main.js';

const ORDER = [
  's1_s11_s111/1.1.1',
  's1_s11_s112/1.1.1',
  's1_s11_s111/1.1.2',
  's1_s11_s112/1.1.2',
  's1_s12/1.1',
  's1_s11_s111/1.2.1',
  's1_s11_s112/1.2.1',
  's1_s11_s111/1.2.2',
  's1_s11_s112/1.2.2',
  's1_s12/1.2',
  's2/1',
];

describe('sequent simple example', () => {
  it('runs every leaf in the seed order and ends with s2', async () => {
    const { result, lines, executed } = await runSimple();
    expect(result).toMatchObject({ ok: true, status: 'success', recovery: 0 });
    expect(executed).toEqual(ORDER);
    expect(lines[0]).toBe('doing what prog1 is doing (s1_s11_s111/1.1.1)');
    expect(lines[4]).toBe('doing what prog3 is doing (s1_s12/1.1)');
    expect(lines.at(-1)).toBe('doing what prog4 is doing (s2/1)');
  });

  it('prints the same through `start`', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', main], { encoding: 'utf8' });
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(12);
    expect(lines.at(-2)).toBe('doing what prog4 is doing (s2/1)');
    expect(lines.at(-1)).toBe('Processing finished with: success');
  });
});
