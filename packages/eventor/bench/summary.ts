/**
 * The end of the root `pnpm bench`: the figures issue 12 sets targets for, as each package's bench
 * saved them in this same run, in one block to paste into a note. `--clear` (run before the benches)
 * removes the figures of earlier runs, so a bench that did not finish shows as not measured.
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

if (process.argv.includes('--clear')) {
  rmSync(FIGURES_DIR, { recursive: true, force: true });
} else {
  const files = PACKAGES.map((pkg) => {
    const path = join(FIGURES_DIR, `${pkg}.json`);
    return {
      pkg,
      file: existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as FiguresFile) : undefined,
    };
  });
  const measured = files.flatMap(({ file }) => (file ? [file] : []));
  const rounds = [...new Set(measured.map((f) => f.rounds))].join('/');
  const when =
    measured
      .map((f) => f.measuredAt)
      .sort()
      .pop() ?? 'never';
  const few = measured.some((f) => f.rounds < 5) ? ', FEWER THAN 5: not figures for a note' : '';
  console.log(
    `\nissue 12 targets (median of ${rounds || '?'} rounds${few}; node ${measured[0]?.node ?? '?'}; finished ${when})`,
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
