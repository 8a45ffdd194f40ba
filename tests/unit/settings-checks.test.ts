/**
 * Settings against the data and the form's field rules (issue 20, fault 7): Batch size above the number of training
 * examples is named as such (studio memory plan and CLI), a Learning rate of 0 is marked on its field and the schedule
 * warning names the Learning rate, not the warmup.
 */
import { describe, expect, it } from 'vitest';
import { dataSettingsProblem } from '../../src/app/settingsChecks';
import { checkSchedule } from '../../src/engine/train/scheduleWarnings';
import { scheduleWarningsFor } from '../../src/store/scheduleNotes';
import { fieldProblem } from '../../src/ui/fieldRules';

describe('settings checks', () => {
  it('names a batch larger than the training set with the largest useful value', () => {
    expect(dataSettingsProblem({ batchSize: 100000 }, 300)).toBe('Batch size: 100000 is more than the 300 training examples; set Batch size to at most 300 (raise Gradient accumulation for a larger effective batch).');
    expect(dataSettingsProblem({ batchSize: 300 }, 300)).toBeNull();
    expect(dataSettingsProblem({ batchSize: 8 }, 0)).toBeNull();
  });

  it('marks a learning rate of 0 on its field and says so instead of suggesting a warmup change', () => {
    expect(fieldProblem('0', { above: 0, max: 1 })).toBe('must be > 0');
    expect(fieldProblem('1e-3', { above: 0, max: 1 })).toBeNull();
    const warnings = checkSchedule(30, 0.1, 0).warnings;
    expect(warnings.join(' ')).toMatch(/Warmup ratio/);
    const shown = scheduleWarningsFor({ learningRate: 0 }, warnings);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatch(/^Learning rate is 0: .*Set Learning rate above 0/);
    expect(shown[0]).not.toMatch(/Warmup/);
    expect(scheduleWarningsFor({ learningRate: 1e-3 }, warnings)).toBe(warnings);
  });
});
