// A1/A2: "extract" a table into extract/<table>.json (in the step's cwd). To show that A1 and A2 run
// at the same time, each waits (up to 5 s) until the other one has started too.
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';

const [table, other] = process.argv.slice(2);
const step = process.env.SEQUENT_STEP_NAME;
mkdirSync('extract', { recursive: true });
writeFileSync(`extract/${table}.started`, '');
const deadline = Date.now() + 5000;
while (!existsSync(`extract/${other}.started`) && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
const overlapped = existsSync(`extract/${other}.started`);
const rows = Array.from({ length: 3 }, (_, i) => ({ table, id: i + 1 }));
writeFileSync(`extract/${table}.json`, JSON.stringify({ rows, overlapped }));
appendFileSync(
  'journal.log',
  `${step}/${process.env.SEQUENT_STEP_SEQUENCE} recovery ${process.env.SEQUENT_STEP_RECOVERY}\n`,
);
console.log(
  `${step}: extracted ${rows.length} rows of ${table}${overlapped ? ` while ${other} was extracted too` : ''}`,
);
