import {
  currentStep,
  Eventor,
  type Logger,
  type LogLevel,
  type RunMode,
  type TestClock,
} from '@flow/eventor';

export interface Mail {
  to: string;
  subject: string;
  /** When it was sent, on the Eventor's clock (ms since the epoch). */
  at: number;
}

/** Sends one mail; throws when the mail service is down. */
export type Mailer = (mail: Mail) => void | Promise<void>;

export interface OnboardingOptions {
  store: string;
  mailer: Mailer;
  /** Virtual time for tests; the system clock when left out. */
  clock?: TestClock;
  runMode?: RunMode;
  logger?: Logger;
  logLevel?: LogLevel;
}

/**
 * A trial sign-up, per user (the sequence is the user's address): a welcome mail at once (retried
 * after 5 and 10 minutes when the mail service is down), a reminder 23 hours later, and the trial
 * ends an hour after that. In real time it takes a day.
 */
export function buildOnboardingFlow({ store, mailer, clock, runMode, logger, logLevel }: OnboardingOptions) {
  const ev = new Eventor({
    name: 'onboarding',
    store,
    ...(clock ? { clock } : {}),
    ...(runMode ? { runMode } : {}),
    ...(logger ? { logger } : {}),
    ...(logLevel ? { logLevel } : {}),
  });
  const send = (subject: string) => async () => {
    const step = currentStep();
    await mailer({ to: step.sequence, subject, at: step.now() });
    return subject;
  };

  const signedUp = ev.addEvent('signed_up');
  const welcomed = ev.addEvent('welcomed');
  const reminded = ev.addEvent('reminded');
  ev.addAssoc(
    signedUp,
    ev.addStep('welcome', {
      func: send('Welcome to your trial'),
      config: { retries: 2, backoff: '5m', timeout: '1m' },
      triggers: { success: [welcomed] },
    }),
  );
  ev.addAssoc(
    welcomed,
    ev.addStep('remind', { func: send('Your trial ends in an hour'), triggers: { success: [reminded] } }),
    { delay: '23h' },
  );
  ev.addAssoc(reminded, ev.addStep('end_trial', { func: send('Your trial has ended') }), { delay: '1h' });

  return {
    ev,
    signUp: (email: string) => ev.triggerEvent(signedUp, email),
  };
}
