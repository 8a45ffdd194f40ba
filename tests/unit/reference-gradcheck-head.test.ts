/**
 * Finite-difference checks (f64) of the chunked loss head references (src/engine/reference/crossEntropyChunk.ts):
 * the chunk backward against the chunked forward, dH of the whole head against central differences in h, and the
 * online log-sum-exp against the full-row reference for several chunk widths; the same with a logit soft-cap
 * (Gemma final_logit_softcapping), and the soft-cap reference itself.
 */
import { describe, expect, it } from 'vitest';
import { crossEntropyRef } from '../../src/engine/reference/crossEntropy';
import { crossEntropyChunkBackwardRef, crossEntropyChunkedRef, lmHeadRef } from '../../src/engine/reference/crossEntropyChunk';
import { softcapBackwardRef, softcapRef } from '../../src/engine/reference/softcap';
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

  it('chunk backward with a per-row scale (DPO) = d(gradScale · Σ_m rowScale[m]·loss_m)/d logits', () => {
    const [M, V, Vc] = [4, 9, 4];
    const logits = rand(M * V, 11, 2);
    const targets = [8, -100, 0, 5];
    const rowScale = [0.7, 3, -1.3, 0.05];
    const g = 0.5;
    const { lse } = crossEntropyChunkedRef(M, V, Vc, logits, targets);
    const grad = new Float64Array(M * V);
    for (let v0 = 0; v0 < V; v0 += Vc) {
      const w = Math.min(Vc, V - v0);
      const chunk = Float64Array.from({ length: M * w }, (_, i) => logits[Math.floor(i / w) * V + v0 + (i % w)] as number);
      const d = crossEntropyChunkBackwardRef(M, V, v0, w, chunk, targets, lse, g, undefined, rowScale);
      d.forEach((x, i) => (grad[Math.floor(i / w) * V + v0 + (i % w)] = x));
    }
    const loss = () => crossEntropyChunkedRef(M, V, Vc, logits, targets).losses.reduce((s, l, m) => s + g * (rowScale[m] as number) * l, 0);
    gradcheck('dlogits (row scale)', logits, loss, grad);
    expect(() => crossEntropyChunkBackwardRef(M, V, 0, Vc, new Float64Array(M * Vc), targets, lse, g, undefined, [1])).toThrow(/rowScale has 1 values, expected M = 4/);
  });

  it('softcap: cap·tanh(z/cap) is close to z for |z| ≪ cap, tends to ±cap, and its backward matches finite differences', () => {
    const z = Float64Array.from([-90, -31, -2, -1e-3, 0.5, 3, 29, 1e4]);
    const capped = softcapRef(z, 30);
    expect(capped[3]).toBeCloseTo(-1e-3, 10);
    expect([capped[0], capped[7]]).toEqual([-30 * Math.tanh(3), 30]);
    expect(() => softcapRef(z, 0)).toThrow(/softcap = 0; expected a finite number > 0/);
    const g = rand(8, 3);
    const zz = z.subarray(0, 7); // 1e4: a zero gradient, not a useful finite-difference point
    const gg = g.subarray(0, 7);
    gradcheck('dz', zz, () => softcapRef(zz, 30).reduce((s, v, i) => s + v * (gg[i] as number), 0), softcapBackwardRef(zz, gg, 30));
  });

  it('capped chunk backward = d(gradScale · Σ loss(cap·tanh(z/cap)))/dz, and the capped loss is the full-row loss of the capped logits', () => {
    const [M, V, Vc, cap] = [3, 11, 4, 2.5];
    const logits = rand(M * V, 6, 6);
    const targets = [10, 4, 0];
    const g = 0.25;
    const { losses, lse } = crossEntropyChunkedRef(M, V, Vc, logits, targets, cap);
    const full = crossEntropyRef(M, V, softcapRef(logits, cap), targets);
    losses.forEach((l, m) => expect(Math.abs(l - (full[m] as number))).toBeLessThan(1e-12));
    const grad = new Float64Array(M * V);
    for (let v0 = 0; v0 < V; v0 += Vc) {
      const w = Math.min(Vc, V - v0);
      const chunk = Float64Array.from({ length: M * w }, (_, i) => logits[Math.floor(i / w) * V + v0 + (i % w)] as number);
      const d = crossEntropyChunkBackwardRef(M, V, v0, w, chunk, targets, lse, g, cap);
      d.forEach((x, i) => (grad[Math.floor(i / w) * V + v0 + (i % w)] = x));
    }
    gradcheck('capped dlogits', logits, () => sum(crossEntropyChunkedRef(M, V, Vc, logits, targets, cap).losses, g), grad);
  });

  it('lm_head dH with a softcap matches finite differences in h', () => {
    const [M, V, C, Vc, cap] = [2, 13, 5, 4, 0.8];
    const h = rand(M * C, 18, 2);
    const E = rand(V * C, 19, 0.7);
    const targets = [12, 2];
    const { dH } = lmHeadRef(M, V, C, Vc, h, E, targets, 0.5, cap);
    gradcheck('capped dH', h, () => sum(lmHeadRef(M, V, C, Vc, h, E, targets, 0.5, cap).losses, 0.5), dH);
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
