import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NamedEvent, Processor } from '../src/index.js';

// A plugin may resolve its own copy of @flow/evproc (another version, or a duplicated install):
// load a second copy of the sources from another folder.
const copyDir = mkdtempSync(join(tmpdir(), 'evproc-copy-'));
cpSync(new URL('../src', import.meta.url), copyDir, { recursive: true });
const other = (await import(
  pathToFileURL(join(copyDir, 'index.ts')).href
)) as typeof import('../src/index.js');
afterAll(() => rmSync(copyDir, { recursive: true, force: true }));

describe('two copies of the package', () => {
  it('are really two copies', () => {
    expect(other.Processor).not.toBe(Processor);
  });

  it('share handler metadata and StopProcessing', () => {
    const proc = new Processor();
    const seen: string[] = [];
    proc.register(
      other.requires('first')(
        other.want('ev')(function second() {
          seen.push('second');
          throw new other.StopProcessing('from the other copy');
        }),
      ),
    );
    proc.register(function first() {
      seen.push('first');
    });
    proc.register(
      other.want('nope')(function never() {
        seen.push('never');
      }),
    );
    expect(proc.processSync(new NamedEvent('ev'))).toBe('from the other copy');
    expect(seen).toEqual(['first', 'second']);
  });
});
