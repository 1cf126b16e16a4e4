import { describe, expect, it } from 'vitest';
import { currentStep, TestClock } from '../src/index.js';
import { sandbox } from './helpers/sandbox.js';

const START = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;

describe('Sequent with a TestClock', () => {
  it('runs nested repeats with a delay per iteration at virtual time', async () => {
    const box = sandbox();
    const clock = new TestClock({ start: START });
    const flow = box.flow({ clock });
    const seen: string[] = [];
    const days = flow.addStep('days', { repeats: ['mon', 'tue', 'wed'] });
    const shifts = days.addStep('shifts', { repeats: ['early', 'late'] });
    shifts.addStep('report', {
      func: () => {
        seen.push(`${flow.getStepSequence()} +${(currentStep().now() - START) / HOUR}h`);
      },
      delay: '6h',
    });

    const began = performance.now();
    const result = await flow.run();

    expect(performance.now() - began).toBeLessThan(1000);
    expect(result).toMatchObject({ ok: true, status: 'success' });
    expect(seen).toEqual(['1.1.1 +6h', '1.1.2 +12h', '1.2.1 +18h', '1.2.2 +24h', '1.3.1 +30h', '1.3.2 +36h']);
    const reports = flow.tasks({ step: 'days_shifts_report' });
    expect(reports.map((task) => task.createdAt.getTime() - START)).toEqual(
      [6, 12, 18, 24, 30, 36].map((hours) => hours * HOUR),
    );
    expect(clock.now()).toBe(START + 36 * HOUR);
  });
});
