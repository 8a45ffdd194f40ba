import { describe, expect, it } from 'vitest';
import { cosineWithWarmup, warmupSteps } from '../../src/engine/train/schedule';

describe('cosine schedule with warmup (HF get_cosine_schedule_with_warmup)', () => {
  it('ramps linearly from 0, peaks at the end of warmup, decays to 0', () => {
    const total = 100;
    const w = warmupSteps(total, 0.1);
    expect(w).toBe(10);
    expect(cosineWithWarmup(0, total, w)).toBe(0);
    expect(cosineWithWarmup(5, total, w)).toBeCloseTo(0.5, 12);
    expect(cosineWithWarmup(10, total, w)).toBe(1);
    expect(cosineWithWarmup(55, total, w)).toBeCloseTo(0.5, 12);
    expect(cosineWithWarmup(100, total, w)).toBeCloseTo(0, 12);
  });
  it('rounds warmup steps up like TrainingArguments.get_warmup_steps', () => {
    expect(warmupSteps(114, 0.1)).toBe(12);
    expect(warmupSteps(20, 0)).toBe(0);
    expect(cosineWithWarmup(0, 20, 0)).toBe(1);
  });
});
