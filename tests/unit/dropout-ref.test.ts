import { describe, expect, it } from 'vitest';
import { dropoutFactor, dropoutThreshold, pcgHash } from '../../src/engine/reference/dropout';

describe('dropout reference mask', () => {
  it('pcg hash matches a BigInt implementation of the WGSL arithmetic', () => {
    const ref = (v: number) => {
      const M = 0xffffffffn;
      const state = (BigInt(v) * 747796405n + 2891336453n) & M;
      const word = (((state >> ((state >> 28n) + 4n)) ^ state) * 277803737n) & M;
      return Number((word >> 22n) ^ word);
    };
    for (const v of [0, 1, 2, 255, 65536, 0x7fffffff, 0xffffffff, 123456789]) expect(pcgHash(v)).toBe(ref(v));
  });
  it('drops about p of the elements and scales the rest by 1/(1-p); p = 0 keeps everything', () => {
    const n = 20000;
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      const f = dropoutFactor(i, 42, 0.25);
      if (f === 0) dropped++;
      else expect(f).toBe(Math.fround(1 / 0.75));
    }
    expect(Math.abs(dropped / n - 0.25)).toBeLessThan(0.01);
    expect(dropoutThreshold(0)).toBe(0);
    for (let i = 0; i < 100; i++) expect(dropoutFactor(i, 9, 0)).toBe(1);
  });
});
