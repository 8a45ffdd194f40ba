import { describe, expect, it } from 'vitest';
import { etaText } from '../../src/cli/progress';

describe('CLI progress ETA', () => {
  it('extrapolates linearly from bytes done and elapsed seconds', () => {
    expect(etaText(25, 100, 10)).toBe('  ETA 30s');
    expect(etaText(10, 100, 10)).toBe('  ETA 1m30s');
  });
  it('is empty before progress and once done', () => {
    expect(etaText(0, 100, 5)).toBe('');
    expect(etaText(100, 100, 5)).toBe('');
  });
});
