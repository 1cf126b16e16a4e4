import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClock } from '@flow/eventor';
import { afterEach, describe, expect, it } from 'vitest';
import { buildOnboardingFlow, type Mail, type Mailer } from '../src/flow.js';
import { main } from '../src/main.js';

const START = '2026-03-02T09:00:00Z';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/**
 * A store for one test: a file in a temp folder, or, when FLOW_TEST_STORE_URL names a PostgreSQL
 * database (this example's postgres test project), a Postgres schema of its own there.
 */
function tempStore(): string {
  const database = process.env.FLOW_TEST_STORE_URL;
  if (database) {
    const url = new URL(database);
    url.searchParams.set('schema', `example_${randomBytes(6).toString('hex')}`);
    return url.toString();
  }
  const dir = mkdtempSync(join(tmpdir(), 'eventor-testclock-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'onboarding.run.db');
}

/** The flow on a fresh store, on a TestClock at START; closed after the test. */
function setup(mailer: Mailer) {
  const clock = new TestClock({ start: START });
  const flow = buildOnboardingFlow({
    store: tempStore(),
    clock,
    mailer,
    logLevel: 'silent',
  });
  cleanups.push(() => flow.ev.close());
  return { clock, ...flow };
}

/** A mail service that fails its first `failures` calls, and keeps what it sent. */
function outbox(failures = 0) {
  const sent: Mail[] = [];
  let calls = 0;
  const mailer: Mailer = (mail) => {
    calls += 1;
    if (calls <= failures) throw new Error('mail service unavailable');
    sent.push(mail);
  };
  const lines = () => sent.map((mail) => `${new Date(mail.at).toISOString()} ${mail.to}: ${mail.subject}`);
  return { mailer, lines };
}

describe('onboarding example on a TestClock', () => {
  it('runs a day of onboarding in well under a second, in the order and at the times real time would give', async () => {
    const mail = outbox(1);
    const { ev, signUp, clock } = setup(mail.mailer);
    signUp('ada@example.com');
    signUp('grace@example.com');

    const began = performance.now();
    const result = await ev.run();

    expect(performance.now() - began).toBeLessThan(1000);
    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(mail.lines()).toEqual([
      '2026-03-02T09:00:00.000Z grace@example.com: Welcome to your trial',
      // ada's first try met the outage; the retry came after the 5 min backoff
      '2026-03-02T09:05:00.000Z ada@example.com: Welcome to your trial',
      '2026-03-03T08:00:00.000Z grace@example.com: Your trial ends in an hour',
      '2026-03-03T08:05:00.000Z ada@example.com: Your trial ends in an hour',
      '2026-03-03T09:00:00.000Z grace@example.com: Your trial has ended',
      '2026-03-03T09:05:00.000Z ada@example.com: Your trial has ended',
    ]);
    const welcomes = ev.tasks({ step: 'welcome' });
    expect(welcomes.map((task) => [task.sequence, task.status, task.attempts])).toEqual([
      ['ada@example.com', 'success', 2],
      ['grace@example.com', 'success', 1],
    ]);
    expect(ev.tasks({ status: 'success' })).toHaveLength(6);
    expect(ev.tasks({ step: 'end_trial' }).map((task) => task.createdAt.toISOString())).toEqual([
      '2026-03-03T09:00:00.000Z',
      '2026-03-03T09:05:00.000Z',
    ]);
    expect(new Date(clock.now()).toISOString()).toBe('2026-03-03T09:05:00.000Z');
  });

  it('can be looked at part way: one pass at a time, moving the clock by hand', async () => {
    const mail = outbox();
    const { ev, signUp, clock } = setup(mail.mailer);
    signUp('ada@example.com');

    expect((await ev.run({ maxLoops: 1 })).status).toBe('incomplete');
    expect(mail.lines()).toEqual(['2026-03-02T09:00:00.000Z ada@example.com: Welcome to your trial']);
    expect(ev.pending()).toEqual({ count: 1, nextDelayIn: 23 * 3_600_000 });

    clock.advance('12h');
    expect((await ev.run({ maxLoops: 1 })).status).toBe('incomplete');
    expect(mail.lines()).toHaveLength(1);
    expect(ev.pending().nextDelayIn).toBe(11 * 3_600_000);

    clock.advance('11h');
    expect((await ev.run({ maxLoops: 1 })).status).toBe('incomplete');
    expect(mail.lines().at(-1)).toBe('2026-03-03T08:00:00.000Z ada@example.com: Your trial ends in an hour');

    expect((await ev.run()).status).toBe('success');
    expect(mail.lines().at(-1)).toBe('2026-03-03T09:00:00.000Z ada@example.com: Your trial has ended');
  });

  it('fails the welcome after its timeout on every attempt when the mail service hangs', async () => {
    const { ev, signUp } = setup(() => new Promise<void>(() => {}));
    signUp('ada@example.com');

    const began = performance.now();
    const result = await ev.run();

    expect(performance.now() - began).toBeLessThan(2000);
    expect(result).toMatchObject({ ok: false, status: 'failure' });
    const [welcome] = ev.tasks();
    expect(welcome).toMatchObject({ step: 'welcome', status: 'failure', attempts: 3 });
    expect(welcome?.error?.message).toMatch(/timed out after 60s/);
    // 1 min timeout, 5 min backoff, 1 min, 10 min backoff, 1 min
    expect(welcome?.updatedAt.toISOString()).toBe('2026-03-02T09:18:00.000Z');
  });

  it('start prints the day of mails', async () => {
    const lines: string[] = [];
    const { result, sent } = await main((line) => lines.push(line));
    expect(result.status).toBe('success');
    expect(sent).toHaveLength(6);
    expect(lines.at(-1)).toMatch(/^success: a day of flow time in \d+ ms of real time$/);
  });
});
