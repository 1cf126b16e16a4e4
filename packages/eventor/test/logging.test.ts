import { describe, expect, it } from 'vitest';
import { currentStep, type Eventor, type LogLevel, StepFailedError } from '../src/index.js';
import { MemoryLogger, type Sandbox, sandbox } from './helpers/sandbox.js';

/** go -> ok (logs through currentStep().log) -> bad (throws); returns the logger's records after the run. */
async function runWithLevel(box: Sandbox, logLevel: LogLevel | undefined) {
  const logger = new MemoryLogger();
  const ev: Eventor = box.eventor({ logger, ...(logLevel ? { logLevel } : {}) });
  const go = ev.addEvent('go');
  const next = ev.addEvent('next');
  ev.addAssoc(
    go,
    ev.addStep('ok', {
      func: () => {
        const { log } = currentStep();
        log.debug('step debug');
        log.info({ rows: 3 }, 'step info');
        log.warn('step warn');
        log.error('step error');
      },
      triggers: { success: next },
    }),
  );
  ev.addAssoc(
    next,
    ev.addStep('bad', {
      func: () => {
        throw new Error('broken on purpose');
      },
    }),
  );
  ev.triggerEvent(go, 7);
  const result = await ev.run();
  return { logger, result, runId: result.runId };
}

describe('logger injection', () => {
  it('gives the injected logger runId, step and sequence as fields of step records', async () => {
    const box = sandbox();
    const { logger, runId } = await runWithLevel(box, 'info');

    const running = logger
      .at('info')
      .find((record) => record.fields.step === 'ok' && record.msg?.includes('Running'));
    expect(running?.fields).toMatchObject({ runId, step: 'ok', sequence: '7' });
  });

  it('passes a step failure to logger.error as a StepFailedError with runId, step and sequence fields', async () => {
    const box = sandbox();
    const { logger, runId } = await runWithLevel(box, 'warn');

    const failure = logger.at('error').find((record) => record.fields.step === 'bad');
    expect(failure?.fields).toMatchObject({ runId, step: 'bad', sequence: '7' });
    const wrapped = Object.values(failure?.fields ?? {}).find((value) => value instanceof StepFailedError);
    expect(wrapped).toBeInstanceOf(StepFailedError);
    expect((wrapped as StepFailedError).message).toMatch(/"bad".*"7".*broken on purpose/);
    expect(failure?.msg).toMatch(/bad/);
  });

  it("gives currentStep().log's records the step's runId, step and sequence, plus the fields passed", async () => {
    const box = sandbox();
    const { logger, runId } = await runWithLevel(box, 'debug');

    const info = logger.at('info').find((record) => record.msg === 'step info');
    expect(info?.fields).toMatchObject({ runId, step: 'ok', sequence: '7', rows: 3 });
    for (const level of ['debug', 'warn', 'error'] as const) {
      const record = logger.at(level).find((r) => r.msg === `step ${level}`);
      expect(record?.fields, level).toMatchObject({ runId, step: 'ok', sequence: '7' });
    }
  });

  it('keeps context out of the message text', async () => {
    const box = sandbox();
    const { logger, runId } = await runWithLevel(box, 'debug');

    for (const record of logger.records) expect(record.msg ?? '').not.toContain(runId);
  });
});

describe('logLevel', () => {
  const levels = ['debug', 'info', 'warn', 'error'] as const;

  it.each([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
    ['silent', []],
  ] as const)('at %s delivers exactly the levels %j', async (logLevel, expected) => {
    const box = sandbox();
    const { logger } = await runWithLevel(box, logLevel);

    const delivered = levels.filter((level) => logger.at(level).length > 0);
    expect(delivered).toEqual(expected);
    const fromStep = levels.filter((level) =>
      logger.at(level).some((record) => record.msg === `step ${level}`),
    );
    expect(fromStep).toEqual(expected);
  });

  it("defaults to 'warn'", async () => {
    const box = sandbox();
    const { logger } = await runWithLevel(box, undefined);

    expect(logger.at('debug')).toEqual([]);
    expect(logger.at('info')).toEqual([]);
    expect(logger.at('warn').some((record) => record.msg === 'step warn')).toBe(true);
  });

  it("logs the run's outcome at info, and at error when it failed", async () => {
    const box = sandbox();
    const { logger, result } = await runWithLevel(box, 'info');

    expect(result.status).toBe('failure');
    const outcome = logger.at('error').find((record) => record.fields.status === 'failure');
    expect(outcome?.fields).toMatchObject({ runId: result.runId, status: 'failure' });
  });
});
