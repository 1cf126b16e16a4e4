// B: combine every extract into processed/report.json.
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

const step = process.env.SEQUENT_STEP_NAME;
const rows = readdirSync('extract')
  .filter((file) => file.endsWith('.json'))
  .sort()
  .flatMap((file) => JSON.parse(readFileSync(`extract/${file}`, 'utf8')).rows);
mkdirSync('processed', { recursive: true });
writeFileSync(
  'processed/report.json',
  JSON.stringify({ rows: rows.length, tables: [...new Set(rows.map((r) => r.table))] }),
);
appendFileSync(
  'journal.log',
  `${step}/${process.env.SEQUENT_STEP_SEQUENCE} recovery ${process.env.SEQUENT_STEP_RECOVERY}\n`,
);
console.log(`${step}: processed ${rows.length} rows`);
