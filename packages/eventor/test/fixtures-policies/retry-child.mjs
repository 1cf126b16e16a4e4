// A flow whose step fails its first attempt and then waits out a long backoff; the parent test
// kills this process with SIGKILL during that backoff and recovers the run.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

const [distEntry, store, dir] = process.argv.slice(2);
const lib = await import(distEntry);
const ev = new lib.Eventor({ name: 'retry-crash', store, logLevel: 'silent' });
const go = ev.addEvent('go');
ev.addAssoc(
  go,
  ev.addStep('flaky', {
    func: () => {
      const { attempt } = lib.currentStep();
      appendFileSync(join(dir, 'attempts.log'), `${attempt}\n`);
      process.send?.({ type: 'attempt', attempt });
      throw new Error(`attempt ${attempt} fails`);
    },
    config: { retries: 3, backoff: '1h' },
  }),
);
ev.triggerEvent(go, 1);
await ev.run();
