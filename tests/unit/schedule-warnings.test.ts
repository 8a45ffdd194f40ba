/**
 * Schedule warnings (engine/train/scheduleWarnings.ts) against an independent CPU loop of HF transformers'
 * get_cosine_schedule_with_warmup lambda (optimization.py: step < warmup → step / max(1, warmup), else
 * 0.5 · (1 + cos(π · progress))) with warmup = ceil(total · ratio).
 */
import { describe, expect, it } from 'vitest';
import { checkSchedule } from '../../src/engine/train/scheduleWarnings';

function hfLrs(total: number, ratio: number, lr: number): number[] {
  const warm = Math.ceil(total * ratio);
  return Array.from({ length: total }, (_, k) => {
    if (k < warm) return (lr * k) / Math.max(1, warm);
    const p = (k - warm) / Math.max(1, total - warm);
    return lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * p)));
  });
}

describe('checkSchedule', () => {
  it('a 1-step run with warmup trains at lr 0 and is warned about', () => {
    expect(hfLrs(1, 0.1, 1e-3)).toEqual([0]);
    const c = checkSchedule(1, 0.1, 1e-3);
    expect(c.zeroLrSteps).toBe(1);
    expect(c.warnings.join(' ')).toContain('learning rate 0');
  });

  it('counts zero-lr steps as HF does, for many totals and ratios', () => {
    for (const total of [1, 2, 3, 5, 10, 57]) {
      for (const ratio of [0, 0.1, 0.5, 1]) {
        const ref = hfLrs(total, ratio, 1e-3).filter((x) => x === 0).length;
        expect(checkSchedule(total, ratio, 1e-3).zeroLrSteps, `total ${total} ratio ${ratio}`).toBe(ref);
      }
    }
  });

  it('no warmup: no warning; Max steps not longer than the warmup: warned; a sound run: none', () => {
    expect(checkSchedule(1, 0, 1e-3).warnings).toEqual([]);
    expect(checkSchedule(3, 1, 1e-3).warnings.join(' ')).toContain('not longer than the warmup');
    expect(checkSchedule(114, 0.1, 1e-3).warnings).toEqual([]);
    expect(checkSchedule(2, 0.1, 1e-3).warnings).toEqual([]);
  });
});
