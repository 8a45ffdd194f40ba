/**
 * Finite-difference checks (f64) of the chunked loss head references (src/engine/reference/crossEntropyChunk.ts):
 * the chunk backward against the chunked forward, dH of the whole head against central differences in h, and the
 * online log-sum-exp against the full-row reference for several chunk widths.
 */
import { describe, expect, it } from 'vitest';
import { crossEntropyRef } from '../../src/engine/reference/crossEntropy';
import { crossEntropyChunkBackwardRef, crossEntropyChunkedRef, lmHeadRef } from '../../src/engine/reference/crossEntropyChunk';
import { gradcheck } from './gradcheck';

function rand(n: number, seed: number, scale = 1): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 * scale - scale;
  });
}


const sum = (a: ArrayLike<number>, scale: number) => Array.from(a).reduce((s, v) => s + v, 0) * scale;

describe('chunked loss head references', () => {
  it.each([1, 3, 7, 20])('online log-sum-exp with %i-column chunks equals the full-row cross-entropy', (chunk) => {
    const [M, V] = [4, 20];
    const logits = rand(M * V, chunk, 6);
    const targets = [3, -100, 0, 19];
    const { losses } = crossEntropyChunkedRef(M, V, chunk, logits, targets);
    const full = crossEntropyRef(M, V, logits, targets);
    losses.forEach((l, m) => expect(Math.abs(l - (full[m] as number))).toBeLessThan(1e-12));
  });

  it('chunk backward = d(gradScale · Σ loss)/d logits', () => {
    const [M, V, Vc] = [3, 11, 4];
    const logits = rand(M * V, 5, 2);
    const targets = [10, 4, 0];
    const g = 0.25;
    const { lse } = crossEntropyChunkedRef(M, V, Vc, logits, targets);
    const grad = new Float64Array(M * V);
    for (let v0 = 0; v0 < V; v0 += Vc) {
      const w = Math.min(Vc, V - v0);
      const chunk = Float64Array.from({ length: M * w }, (_, i) => logits[Math.floor(i / w) * V + v0 + (i % w)] as number);
      const d = crossEntropyChunkBackwardRef(M, V, v0, w, chunk, targets, lse, g);
      d.forEach((x, i) => (grad[Math.floor(i / w) * V + v0 + (i % w)] = x));
    }
    gradcheck('dlogits', logits, () => sum(crossEntropyChunkedRef(M, V, Vc, logits, targets).losses, g), grad);
  });

  it('lm_head dH = Σ dlogits · E matches finite differences in h', () => {
    const [M, V, C, Vc] = [3, 13, 5, 4];
    const h = rand(M * C, 8);
    const E = rand(V * C, 9, 0.7);
    const targets = [12, -100, 2];
    const g = 0.5;
    const { dH } = lmHeadRef(M, V, C, Vc, h, E, targets, g);
    for (let c = 0; c < C; c++) expect(dH[1 * C + c]).toBe(0); // ignored row
    const hv = h.subarray(0);
    const loss = () => sum(lmHeadRef(M, V, C, Vc, hv, E, targets, g).losses, g);
    let checked = 0;
    for (let i = 0; i < h.length; i++) {
      if (Math.floor(i / C) === 1) continue;
      const x0 = h[i] as number;
      h[i] = x0 + 1e-5;
      const up = loss();
      h[i] = x0 - 1e-5;
      const down = loss();
      h[i] = x0;
      const fd = (up - down) / 2e-5;
      expect(Math.abs(fd - (dH[i] as number)), `dH element ${i}`).toBeLessThanOrEqual(1e-8 + 1e-6 * Math.abs(fd));
      checked++;
    }
    expect(checked).toBe(2 * C);
  });
});
