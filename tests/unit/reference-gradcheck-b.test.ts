/**
 * Central finite-difference checks (f64) of the CPU reference backwards of group B (rope, attention,
 * cross-entropy) against their own forwards: for L = Σ W ⊙ f(x) with fixed random W,
 * dL/dx_i ≈ (L(x + h e_i) − L(x − h e_i)) / 2h must match the analytic backward at every element.
 */
import { describe, expect, it } from 'vitest';
import { ropeBackwardRef, ropeForwardRef } from '../../src/engine/reference/rope';
import { attentionBackwardRef, attentionForwardRef } from '../../src/engine/reference/attention';
import { crossEntropyBackwardRef, crossEntropyRef } from '../../src/engine/reference/crossEntropy';
import { gradcheck } from './gradcheck';

/** Deterministic uniform(−scale, scale) f64 values (LCG; independent of the GPU test helpers). */
function rand(n: number, seed: number, scale = 1): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296) * 2 * scale - scale;
  });
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}


describe('reference backward vs finite differences (group B)', () => {
  it('rope: dx = Rᵀ dy', () => {
    const s = { B: 2, T: 3, nHeads: 3, D: 6 };
    const half = s.D / 2;
    const angles = rand(s.T * half, 1, 3);
    const cos = angles.map(Math.cos);
    const sin = angles.map(Math.sin);
    const x = rand(s.B * s.T * s.nHeads * s.D, 2);
    const w = rand(x.length, 3);
    gradcheck('rope', x, () => dot(w, ropeForwardRef(s, cos, sin, x)), ropeBackwardRef(s, cos, sin, w));
  });

  it.each([
    [2, 5, 3, 1, 5], // GQA ratio 3, odd head dim
    [1, 4, 2, 2, 3], // plain multi-head
    [1, 3, 4, 2, 4], // GQA ratio 2
  ])('attention: dq, dk, dv at B=%i T=%i H=%i KV=%i D=%i', (B, T, H, KV, D) => {
    const s = { B, T, H, KV, D, scale: 1 / Math.sqrt(D) };
    const q = rand(B * T * H * D, 10 + T, 1.5);
    const k = rand(B * T * KV * D, 20 + T, 1.5);
    const v = rand(B * T * KV * D, 30 + T);
    const w = rand(B * T * H * D, 40 + T);
    const loss = (): number => dot(w, attentionForwardRef(s, q, k, v).out);
    const g = attentionBackwardRef(s, q, k, v, w);
    gradcheck('attention dq', q, loss, g.dq);
    gradcheck('attention dk', k, loss, g.dk);
    gradcheck('attention dv', v, loss, g.dv);
  });

  it('attention: lse is log Σ_{s≤t} exp(scale q_t·k_s) (softmax normaliser of the causal row)', () => {
    const s = { B: 1, T: 3, H: 2, KV: 1, D: 2, scale: 0.7 };
    const q = rand(12, 5);
    const k = rand(6, 6);
    const { lse } = attentionForwardRef(s, q, k, rand(6, 7));
    for (let h = 0; h < 2; h++)
      for (let t = 0; t < 3; t++) {
        let z = 0;
        for (let j = 0; j <= t; j++) z += Math.exp(0.7 * ((q[(t * 2 + h) * 2] as number) * (k[j * 2] as number) + (q[(t * 2 + h) * 2 + 1] as number) * (k[j * 2 + 1] as number)));
        expect(lse[h * 3 + t]).toBeCloseTo(Math.log(z), 12);
      }
  });

  it('cross-entropy: dlogits = (softmax − onehot)·gradScale, zero on ignored rows', () => {
    const [M, V] = [5, 7];
    const logits = rand(M * V, 50, 3);
    const targets = [3, -100, 0, 6, 2];
    const gradScale = 1 / 4;
    gradcheck(
      'cross-entropy',
      logits,
      () => gradScale * crossEntropyRef(M, V, logits, targets).reduce((a, b) => a + b, 0),
      crossEntropyBackwardRef(M, V, logits, targets, gradScale),
    );
    expect(Array.from(crossEntropyBackwardRef(M, V, logits, targets, gradScale).subarray(V, 2 * V))).toEqual(new Array(V).fill(0));
  });
});
