/**
 * Runs the code blocks of every README against the built packages, so that an example a user copies
 * works as written.
 *
 * Convention. Every fenced ts / js block (```ts, ```typescript, ```js, ```javascript, ```mjs) in
 * README.md, packages/<name>/README.md and examples/<name>/README.md carries a marker after the
 * language in its info string:
 *
 *   ```ts run         a whole program. Type-checked (strict, NodeNext) against the built .d.ts, then
 *                     run with tsx (a js block: with node) in a fresh temp folder, which is its cwd,
 *                     so relative store paths land there. It must exit 0 within 60 s.
 *   ```ts typecheck   type-checked only (a js block: parsed with `node --check`): for code that needs
 *                     what a test machine lacks (pg_dump, a ./steps.js module, a network) or that
 *                     shows a call that throws.
 *
 * A ts / js block without a marker fails this test, so no example is left out; blocks of other
 * languages (sh, console, json, text, mermaid) are not looked at. A block that uses names the text
 * around it defines gets a hidden prelude: an HTML comment right above the fence (blank lines may
 * separate them), whose code goes before the block's:
 *
 *   <!-- prelude
 *   import { NamedEvent, Processor } from '@flow/evproc';
 *   const proc = new Processor();
 *   -->
 *   ```ts run
 *   await proc.process(new NamedEvent('order'));
 *   ```
 *
 * A hidden check, an HTML comment right below the fence, goes after the block's code: assertions on
 * what the block's comments promise, so a run block that runs but does something else fails:
 *
 *   <!-- check
 *   import assert from 'node:assert/strict';
 *   assert.equal(result.status, 'success');
 *   -->
 *
 * `@flow/eventor`, `@flow/sequent` and `@flow/evproc` resolve to packages/<name> (their dist, as after
 * an install); build first (`pnpm build`; the root `pnpm test` does). Errors name the README and line.
 * A block runs with DATABASE_URL set to a database of its own on the test run's PostgreSQL (a
 * `postgres://` URL, no schema), for the examples of PostgreSQL stores.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from './helpers/postgres.js';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const PACKAGES = ['eventor', 'sequent', 'evproc'];
const TS_LANGS = new Set(['ts', 'typescript', 'mts']);
const JS_LANGS = new Set(['js', 'javascript', 'mjs']);
const MARKERS = new Set(['run', 'typecheck']);
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const TSX = join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface Block {
  readme: string; // relative to the repo
  line: number; // the fence's line, 1-based
  lang: 'ts' | 'js';
  marker: string | undefined;
  problem: string | undefined; // a bad info string
  prelude: string;
  code: string;
  check: string;
}

function readmes(): string[] {
  const found = [join(REPO, 'README.md')];
  for (const group of ['packages', 'examples']) {
    for (const entry of readdirSync(join(REPO, group)).sort()) {
      const readme = join(REPO, group, entry, 'README.md');
      if (existsSync(readme)) found.push(readme);
    }
  }
  return found;
}

function blocksOf(path: string): Block[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const [, indent = '', fence = '', info = ''] = open;
    let end = i + 1;
    while (end < lines.length && !(lines[end] as string).trim().startsWith(fence)) end++;
    const words = info.trim().split(/\s+/).filter(Boolean);
    const lang = (words[0] ?? '').toLowerCase();
    if (TS_LANGS.has(lang) || JS_LANGS.has(lang)) {
      const rest = words.slice(1);
      const markers = rest.filter((word) => MARKERS.has(word));
      const unknown = rest.filter((word) => !MARKERS.has(word));
      blocks.push({
        readme: relative(REPO, path),
        line: i + 1,
        lang: TS_LANGS.has(lang) ? 'ts' : 'js',
        marker: markers.length === 1 ? markers[0] : undefined,
        problem:
          unknown.length > 0
            ? `unknown word(s) ${unknown.join(', ')} in the info string "${info.trim()}"`
            : markers.length > 1
              ? `more than one marker in "${info.trim()}"`
              : undefined,
        prelude: commentAbove(lines, i, 'prelude'),
        check: commentBelow(lines, end, 'check'),
        code: lines
          .slice(i + 1, end)
          .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
          .join('\n'),
      });
    }
    i = end;
  }
  return blocks;
}

/** The code of a `<!-- <word> ... -->` comment right above line `fence` (0-based), or ''. */
function commentAbove(lines: string[], fence: number, word: string): string {
  let last = fence - 1;
  while (last >= 0 && (lines[last] as string).trim() === '') last--;
  if (last < 0 || !(lines[last] as string).trim().endsWith('-->')) return '';
  let first = last;
  while (first >= 0 && !(lines[first] as string).trim().startsWith('<!--')) first--;
  return first < 0 ? '' : commentCode(lines.slice(first, last + 1), word);
}

/** The code of a `<!-- <word> ... -->` comment right below line `fence` (0-based), or ''. */
function commentBelow(lines: string[], fence: number, word: string): string {
  let first = fence + 1;
  while (first < lines.length && (lines[first] as string).trim() === '') first++;
  if (first >= lines.length || !(lines[first] as string).trim().startsWith('<!--')) return '';
  let last = first;
  while (last < lines.length && !(lines[last] as string).trim().endsWith('-->')) last++;
  return last >= lines.length ? '' : commentCode(lines.slice(first, last + 1), word);
}

function commentCode(comment: string[], word: string): string {
  const text = comment.join('\n');
  const open = new RegExp(`^\\s*<!--\\s*${word}\\b`);
  if (!open.test(text)) return '';
  return text
    .replace(open, '')
    .replace(/-->\s*$/, '')
    .replace(/^\n/, '');
}

const blocks = readmes().flatMap(blocksOf);
const postgres = testDatabase('readme');
let work: string;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

beforeAll(() => {
  for (const name of PACKAGES) {
    const dir = join(REPO, 'packages', name);
    if (
      !existsSync(join(dir, 'dist', 'index.js')) ||
      newestMtime(join(dir, 'src')) > newestMtime(join(dir, 'dist'))
    ) {
      throw new Error(
        `packages/${name}/dist is missing or older than src: run \`pnpm build\` at the root first.`,
      );
    }
  }
  work = mkdtempSync(join(tmpdir(), 'flow-readme-blocks-'));
  mkdirSync(join(work, 'node_modules', '@flow'), { recursive: true });
  for (const name of PACKAGES)
    symlinkSync(join(REPO, 'packages', name), join(work, 'node_modules', '@flow', name), 'dir');
  symlinkSync(join(REPO, 'node_modules', '@types'), join(work, 'node_modules', '@types'), 'dir');
});

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/** Writes the block into its own folder; returns the folder, the file name and the prelude's length. */
function writeBlock(block: Block): { dir: string; file: string; offset: number } {
  const dir = join(work, `${block.readme.replace(/[^a-z0-9]+/gi, '-')}-${block.line}`);
  mkdirSync(dir);
  const file = block.lang === 'ts' ? 'block.ts' : 'block.js';
  const prelude = block.prelude === '' ? '' : `${block.prelude}\n`;
  // `export {}` makes a block without imports a module too, so top-level await is allowed
  const check = block.check === '' ? '' : `${block.check}\n`;
  writeFileSync(join(dir, file), `${prelude}${block.code}\n${check}export {};\n`);
  writeFileSync(join(dir, 'package.json'), '{ "name": "readme-block", "private": true, "type": "module" }\n');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2022'],
        types: ['node'],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
      },
      files: [file],
    }),
  );
  return { dir, file, offset: prelude === '' ? 0 : prelude.split('\n').length - 1 };
}

/** Rewrites `block.ts(12,5)` in tsc's output as `packages/x/README.md:<line>:5`. */
function atReadmeLines(output: string, block: Block, file: string, offset: number): string {
  return output.replace(
    new RegExp(`${file.replace('.', '\\.')}\\((\\d+),(\\d+)\\)`, 'g'),
    (_, line, column) => {
      const inBlock = Number(line) - offset;
      const blockLines = block.code.split('\n').length;
      if (inBlock < 1) return `${block.readme}:${block.line} (prelude line ${line})`;
      if (inBlock > blockLines) return `${block.readme}:${block.line} (check line ${inBlock - blockLines})`;
      return `${block.readme}:${block.line + inBlock}:${column}`;
    },
  );
}

function typecheck(block: Block, dir: string, file: string, offset: number): void {
  if (block.lang === 'js') {
    const check = spawnSync(process.execPath, ['--check', file], { cwd: dir, encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`${block.readme}:${block.line} does not parse:\n${check.stderr}`);
    return;
  }
  try {
    execFileSync(process.execPath, [TSC, '-p', 'tsconfig.json'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(
      `${block.readme}:${block.line} does not type-check (strict):\n${atReadmeLines(`${stdout}${stderr}`, block, file, offset)}`,
    );
  }
}

function run(block: Block, dir: string, file: string): void {
  const args = block.lang === 'ts' ? [TSX, file] : [file];
  const result = spawnSync(process.execPath, args, {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, DATABASE_URL: postgres.url },
  });
  if (result.status !== 0) {
    const how = result.error
      ? `${result.error.message}`
      : `exit code ${result.status}, signal ${result.signal}`;
    throw new Error(
      `${block.readme}:${block.line} failed when run (${how}):\n${result.stderr.slice(-4000)}${result.stdout.slice(-2000)}`,
    );
  }
}

describe('README code blocks', () => {
  it('finds the ts/js blocks of every README', () => {
    expect(blocks.length).toBeGreaterThan(0);
    for (const readme of [
      'README.md',
      'packages/eventor/README.md',
      'packages/sequent/README.md',
      'packages/evproc/README.md',
    ]) {
      expect(blocks.some((block) => block.readme === readme)).toBe(true);
    }
  });

  for (const block of blocks) {
    it(`${block.readme}:${block.line} (${block.lang} ${block.marker ?? 'no marker'})`, {
      timeout: 90_000,
    }, () => {
      if (block.problem !== undefined)
        throw new Error(`${block.readme}:${block.line}: ${block.problem}; use run or typecheck.`);
      if (block.marker === undefined) {
        throw new Error(
          `${block.readme}:${block.line}: a ${block.lang} block without a marker. Write \`\`\`${block.lang} run (a program that runs as it is) ` +
            `or \`\`\`${block.lang} typecheck (code that only type-checks); see packages/eventor/test/readme-blocks.test.ts.`,
        );
      }
      const { dir, file, offset } = writeBlock(block);
      typecheck(block, dir, file, offset);
      if (block.marker === 'run') run(block, dir, file);
    });
  }
});
