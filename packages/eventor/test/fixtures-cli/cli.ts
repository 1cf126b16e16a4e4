import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

export const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(PACKAGE_ROOT, 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The command runs as a user runs it: node on the built bin. Fails with what to do when dist is
 * missing or older than src, since the process would then run other code than the test means.
 */
export function assertBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(
      `${CLI} is missing: build first with \`pnpm --filter @flow/eventor build\` (pnpm test does).`,
    );
  }
  if (newestMtime(join(PACKAGE_ROOT, 'src')) > newestMtime(join(PACKAGE_ROOT, 'dist'))) {
    throw new Error(
      'packages/eventor/dist is older than src: rebuild with `pnpm --filter @flow/eventor build` (pnpm test does).',
    );
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Runs `eventor ...args` to completion (synchronously: a flow in this process may be paused meanwhile). */
export function eventor(...args: string[]): CliResult {
  return eventorWith({}, ...args);
}

/** eventor() with environment variables added (or replaced, e.g. PATH). */
export function eventorWith(options: { env?: Record<string, string> }, ...args: string[]): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    timeout: 20_000,
    maxBuffer: 512 * 1024 * 1024, // `show` of a 200,000-task run prints megabytes
  });
  if (result.error) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like eventor(), but fails the test with the command's stderr unless it exits 0. */
export function eventorOk(...args: string[]): string {
  const result = eventor(...args);
  if (result.code !== 0) {
    throw new Error(`eventor ${args.join(' ')} exited ${result.code}:\n${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/** A temp folder removed when the test ends. */
export function tempDir(prefix = 'eventor-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Splits a table printed by the CLI into records keyed by its header words. */
export function parseTable(text: string): Array<Record<string, string>> {
  const lines = text.split('\n').filter((line) => line.trim().length > 0);
  const headerIndex = lines.findIndex((line) => /^[A-Z]+(\s{2,}[A-Z]+)+$/.test(line.trim()));
  if (headerIndex < 0) throw new Error(`no table header in:\n${text}`);
  const header = lines[headerIndex] as string;
  const starts: Array<{ name: string; at: number }> = [];
  for (const match of header.matchAll(/[A-Z]+/g)) starts.push({ name: match[0], at: match.index ?? 0 });
  return lines.slice(headerIndex + 1).map((line) => {
    const record: Record<string, string> = {};
    starts.forEach((column, i) => {
      const next = starts[i + 1];
      // right-aligned numbers end under their header; cut each cell at the gap before the next header
      const from = i === 0 ? 0 : cellStart(line, column.at, starts[i - 1]?.at ?? 0);
      const to = next ? cellStart(line, next.at, column.at) : line.length;
      record[column.name] = line.slice(from, to).trim();
    });
    return record;
  });
}

/** Where a cell that ends at or after `headerAt` begins: just after the last double space before it. */
function cellStart(line: string, headerAt: number, previousAt: number): number {
  if (headerAt >= line.length) return line.length;
  let at = headerAt;
  while (at > previousAt && !(line[at - 1] === ' ' && line[at - 2] === ' ')) at -= 1;
  return at;
}
