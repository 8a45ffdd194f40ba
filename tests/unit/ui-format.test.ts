import { describe, expect, it } from 'vitest';
import { formatDuration, lrTick, plural } from '../../src/ui/format';

describe('ui/format', () => {
  it('uses the singular for one and the plural otherwise', () => {
    expect(plural(1, 'batch')).toBe('1 batch');
    expect(plural(3, 'batch')).toBe('3 batches');
    expect(plural(0, 'held-out evaluation')).toBe('0 held-out evaluations');
    expect(plural(1, 'micro-batch')).toBe('1 micro-batch');
    expect(plural(2, 'axis', 'axes')).toBe('2 axes');
  });

  it('formats durations', () => {
    expect(formatDuration(0)).toMatch(/0/);
    expect(formatDuration(3600)).not.toBe(formatDuration(60));
  });
});

describe('loss chart', () => {
  it('labels learning-rate ticks without rounding them to 0', () => {
    expect(lrTick(0)).toBe('0');
    expect(lrTick(0.0002)).toBe('2e−4');
    expect(lrTick(0.00015)).toBe('1.5e−4');
  });
});
