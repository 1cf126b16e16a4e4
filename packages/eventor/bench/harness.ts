/**
 * What every package's bench shares: rounds, one child process per case and round, the spread of a
 * figure, a plain-text table, and the figures file the root summary reads. sequent's and evproc's
 * benches import it from here; it is no part of any package's public surface.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function readRounds(text: string | undefined): number {
  if (text === undefined || text === '') return 5;
  const rounds = Number(text);
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new Error(
      `FLOW_BENCH_ROUNDS must be a whole number of rounds (5 or more for figures), got '${text}'`,
    );
  }
  return rounds;
}

export const ROUNDS = readRounds(process.env.FLOW_BENCH_ROUNDS);

/** One line naming what the figures below were measured on. */
export function header(title: string): string {
  const few = ROUNDS < 5 ? ' (FEWER THAN 5: not figures for a note)' : '';
  return (
    `\n${title}: median of ${ROUNDS} rounds${few}, one child process per case and round; ` +
    `node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(1)} at start`
  );
}

/** Runs `file` with `args` in a fresh Node (under tsx, NODE_ENV=production); its last stdout line is JSON. */
export function runChild<T>(file: string, ...args: string[]): T {
  const out = execFileSync(process.execPath, ['--import', 'tsx', file, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(
      `bench case ${args.join(' ')} in ${file} printed no JSON result; its output was:\n${out}`,
    );
  }
}

/** Peak RSS of this process so far, in MB. */
export const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values: a bench case produced no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/** `median (min-max)` with `format` applied to each and `unit` after the median. */
export function showSpread(s: Spread, format: (value: number) => string, unit = ''): string {
  return `${format(s.median)}${unit} (${format(s.min)}-${format(s.max)})`;
}

export const count = (value: number): string => Math.round(value).toLocaleString('en-US');
export const ratio = (value: number): string => value.toFixed(value < 0.1 ? 3 : 2);
export const mb = (value: number): string => value.toFixed(0);

/** A target on a ratio: '>=' where the ratio is of rates (higher is better), '<=' where it is of costs. */
export interface Target {
  sense: '>=' | '<=';
  value: number;
}

export const meets = (value: number, target: Target): boolean =>
  target.sense === '>=' ? value >= target.value : value <= target.value;
export const showTarget = (target: Target): string => `${target.sense} ${target.value.toFixed(2)}x`;
export const verdict = (value: number, target: Target): string => (meets(value, target) ? 'meets' : 'below');

/** Prints rows under a header row, each column as wide as its widest cell; columns after the first right-aligned. */
export function printTable(head: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = head.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ')
      .trimEnd();
  console.log(line(head));
  for (const row of rows) console.log(line(row));
}

/** One of issue 12's figures, as the root summary prints it. */
export interface Figure {
  name: string;
  ratio: Spread;
  target: Target;
}

export interface FiguresFile {
  package: string;
  measuredAt: string;
  rounds: number;
  node: string;
  figures: Figure[];
  /** Lines the summary prints as they are (the RSS check). */
  notes: string[];
}

/** `node_modules/.cache/flow-bench/` at the repository root; the root `pnpm bench` empties it first. */
export const FIGURES_DIR = fileURLToPath(
  new URL('../../../node_modules/.cache/flow-bench/', import.meta.url),
);

export function saveFigures(pkg: string, figures: Figure[], notes: string[] = []): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  const file: FiguresFile = {
    package: pkg,
    measuredAt: new Date().toISOString(),
    rounds: ROUNDS,
    node: process.version,
    figures,
    notes,
  };
  writeFileSync(join(FIGURES_DIR, `${pkg.replace(/\W+/g, '-')}.json`), `${JSON.stringify(file, null, 2)}\n`);
}
