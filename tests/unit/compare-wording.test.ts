import { describe, expect, it } from 'vitest';
import { compareMeasure, describeComparison, type WordingInput } from '../../src/app/compare/wording';

// The PyTorch reference at lr 1e-3 (shared/models/REFERENCE_RESULTS.md): the graft lowers loss, never takes the format.
const reference: WordingInput = {
  heldout_loss: { instruct: 1.3668, instruct_conventional: 0.657, instruct_shadow: 0.8933, base: 1.4753, base_lora: 0.7413 },
  exact_match: { instruct: 0, instruct_conventional: 0, instruct_shadow: 0, base: 0, base_lora: 0 },
  check_rate: { instruct: 0, instruct_conventional: 29 / 30, instruct_shadow: 0, base: 0, base_lora: 29 / 30 },
  eval_prompts: 30,
  checkRegex: '^Title: ',
};

describe('comparison wording', () => {
  it('names the winner per measure and calls equal tops a tie', () => {
    const w = describeComparison(reference);
    const loss = w.verdicts.find((v) => v.measure === 'heldout_loss');
    expect(loss?.winner).toBe('instruct_conventional');
    expect(loss?.text).toBe('Held-out loss: Instruct + conventional LoRA is lowest (0.657); next Base + LoRA (0.741).');
    const check = w.verdicts.find((v) => v.measure === 'check_rate');
    expect(check?.winner).toBeNull();
    expect(check?.best).toEqual(['instruct_conventional', 'base_lora']);
    expect(check?.text).toContain('tie within noise');
    const exact = w.verdicts.find((v) => v.measure === 'exact_match');
    expect(exact?.winner).toBeNull();
    expect(exact?.best.length).toBe(5);
  });
  it('says explicitly that the graft lowers loss but fails the check', () => {
    const w = describeComparison(reference);
    expect(w.disagreements).toHaveLength(1);
    expect(w.disagreements[0]).toBe(
      'Instruct + Shadow-FT graft lowers the held-out loss of Instruct (1.367 → 0.893), but its answers do not pass the check "^Title: " more often beyond noise (0/30 vs 0/30): the lower loss alone does not show that it learned the task\'s format.',
    );
  });
  it('says when the loss winner and the check winner differ', () => {
    const w = describeComparison({
      ...reference,
      heldout_loss: { ...reference.heldout_loss, instruct_shadow: 0.6, instruct_conventional: 0.8 },
      check_rate: { ...reference.check_rate, instruct_shadow: 2 / 30, instruct_conventional: 28 / 30 },
    });
    expect(w.disagreements).toContain('Loss and the check disagree: Instruct + Shadow-FT graft has the lower held-out loss, Instruct + conventional LoRA passes the check more often.');
  });
  it('claims nothing within noise', () => {
    // 1%: 0.700 vs 0.705 is a tie, 0.700 vs 0.720 is not.
    expect(compareMeasure('heldout_loss', 0.7, 0.705, 30)).toBe(0);
    expect(compareMeasure('heldout_loss', 0.7, 0.72, 30)).toBe(-1);
    // 3/10 vs 5/10: |d| = 0.2 ≤ 1.96·√(0.4·0.6·0.2) = 0.429 → tie; 0/30 vs 29/30 is not.
    expect(compareMeasure('check_rate', 0.3, 0.5, 10)).toBe(0);
    expect(compareMeasure('check_rate', 0, 29 / 30, 30)).toBe(1);
    const w = describeComparison({
      ...reference,
      heldout_loss: { instruct: 1.0, instruct_conventional: 0.995, instruct_shadow: 0.992, base: 1.2, base_lora: 1.195 },
      check_rate: { instruct: 0.3, instruct_conventional: 0.5, instruct_shadow: 0.4, base: 0, base_lora: 0.1 },
      eval_prompts: 10,
    });
    expect(w.verdicts[0]?.winner).toBeNull();
    expect(w.verdicts[0]?.best).toEqual(['instruct_shadow', 'instruct_conventional', 'instruct']);
    expect(w.disagreements).toEqual([]);
    expect(w.notes.some((n) => n.startsWith('With only 10 prompts'))).toBe(true);
  });
  it('skips the check without a regex and reports unmeasured losses', () => {
    const none = { instruct: null, instruct_conventional: null, instruct_shadow: null, base: null, base_lora: null };
    const w = describeComparison({ ...reference, checkRegex: '', heldout_loss: none });
    expect(w.verdicts.map((v) => v.measure)).toEqual(['heldout_loss', 'exact_match']);
    expect(w.verdicts[0]?.text).toBe('Held-out loss: not measured.');
    expect(w.disagreements).toEqual([]);
    expect(w.notes).toContain('No check regex was given, so the format check was not measured.');
  });
});
