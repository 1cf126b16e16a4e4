/**
 * The end of the root `pnpm bench`: the figures issue 12 sets targets for, as each package's bench
 * saved them in this same run, in one block to paste into a note, and issue 13's (the PostgreSQL
 * store, from eventor's bench) in a block of their own. `--clear` (run before the benches) removes
 * the figures of earlier runs, so a bench that did not finish shows as not measured.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  FIGURES_DIR,
  type FiguresFile,
  printTable,
  ratio,
  showSpread,
  showTarget,
  verdict,
} from './harness.js';

const PACKAGES = ['eventor', 'sequent', 'evproc'] as const;

/** One block: a heading, then a row per figure of `files` (or a row saying a bench did not finish). */
function printBlock(title: string, files: Array<{ pkg: string; file: FiguresFile | undefined }>): void {
  const measured = files.flatMap(({ file }) => (file ? [file] : []));
  const rounds = [...new Set(measured.map((f) => f.rounds))].join('/');
  const when =
    measured
      .map((f) => f.measuredAt)
      .sort()
      .pop() ?? 'never';
  const few = measured.some((f) => f.rounds < 5) ? ', FEWER THAN 5: not figures for a note' : '';
  console.log(
    `\n${title} (median of ${rounds || '?'} rounds${few}; node ${measured[0]?.node ?? '?'}; finished ${when})`,
  );
  const rows: string[][] = [];
  for (const { pkg, file } of files) {
    if (!file) {
      rows.push([`${pkg}: not measured in this run (its bench did not finish)`, '', '', 'below']);
      continue;
    }
    for (const f of file.figures) {
      rows.push([
        f.name,
        showSpread(f.ratio, ratio, 'x'),
        showTarget(f.target),
        verdict(f.ratio.median, f.target),
      ]);
    }
  }
  printTable(['figure', 'median (min-max)', 'target', 'verdict'], rows);
  for (const file of measured) for (const note of file.notes) console.log(note);
}

function read(pkg: string): { pkg: string; file: FiguresFile | undefined } {
  const path = join(FIGURES_DIR, `${pkg}.json`);
  return {
    pkg,
    file: existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as FiguresFile) : undefined,
  };
}

if (process.argv.includes('--clear')) {
  rmSync(FIGURES_DIR, { recursive: true, force: true });
} else {
  printBlock('issue 12 targets', PACKAGES.map(read));
  printBlock('issue 13 targets, the PostgreSQL store', [read('eventor-postgres')]);
}
