// C1/C2: "transmit" the report to a client (a file in outbox/). A file named fail-once-<client>
// makes it fail once, the way a remote that is down for a while would.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const client = process.argv[2];
const step = process.env.SEQUENT_STEP_NAME;
appendFileSync(
  'journal.log',
  `${step}/${process.env.SEQUENT_STEP_SEQUENCE} recovery ${process.env.SEQUENT_STEP_RECOVERY}\n`,
);
if (existsSync(`fail-once-${client}`)) {
  rmSync(`fail-once-${client}`);
  console.error(`${step}: connection to ${client} refused`);
  process.exit(3);
}
const report = readFileSync('processed/report.json', 'utf8');
mkdirSync('outbox', { recursive: true });
writeFileSync(`outbox/${client}.json`, report);
console.log(`${step}: sent the report to ${client}`);
