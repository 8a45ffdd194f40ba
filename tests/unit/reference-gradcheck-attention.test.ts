/**
 * The attention reference's sliding window and logit soft-cap (src/engine/reference/attention.ts): backward vs
 * central finite differences of its own forward (L = Σ W ⊙ out, fixed random W), and forward values checked by
 * hand from the definitions (HF masking_utils `sliding_window_overlay`: t − W < s ≤ t; HF modeling_gemma3.py:
 * S = cap·tanh(scale·q·k / cap) before the mask and softmax).
 */
import { describe, expect, it } from 'vitest';
import { attentionBackwardRef, attentionForwardRef, type AttentionRefShape } from '../../src/engine/reference/attention';
import { gradcheck } from './gradcheck';

/** Deterministic uniform(−scale, scale) f64 values (LCG). */
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

function inputs(s: AttentionRefShape, seed: number) {
  const { B, T, H, KV, D } = s;
  return { q: rand(B * T * H * D, seed, 1.5), k: rand(B * T * KV * D, seed + 1, 1.5), v: rand(B * T * KV * D, seed + 2), w: rand(B * T * H * D, seed + 3) };
}

describe('attention reference: sliding window and soft-cap', () => {
  it.each([
    // B, T, H, KV, D, window, softcap
    [2, 6, 3, 1, 4, 2, undefined], // window 2, GQA ratio 3
    [1, 7, 4, 2, 3, 3, undefined], // window 3, GQA ratio 2, odd head dim
    [1, 5, 2, 2, 4, undefined, 0.8], // soft-cap only (cap small enough that tanh bends)
    [2, 6, 2, 1, 4, 3, 1.1], // both, MQA
  ] as const)('dq, dk, dv match finite differences at B=%i T=%i H=%i KV=%i D=%i window=%s softcap=%s', (B, T, H, KV, D, window, softcap) => {
    const s: AttentionRefShape = { B, T, H, KV, D, scale: 1 / Math.sqrt(D), window, softcap };
    const { q, k, v, w } = inputs(s, 100 + T * 7 + D);
    const loss = (): number => dot(w, attentionForwardRef(s, q, k, v).out);
    const g = attentionBackwardRef(s, q, k, v, w);
    gradcheck('attention dq', q, loss, g.dq);
    gradcheck('attention dk', k, loss, g.dk);
    gradcheck('attention dv', v, loss, g.dv);
  });

  it('window W ≥ T and window 0 give exactly the causal result; W = 1 copies v and lse = S_tt', () => {
    const s: AttentionRefShape = { B: 1, T: 5, H: 2, KV: 1, D: 3, scale: 0.6 };
    const { q, k, v, w } = inputs(s, 7);
    const causal = attentionForwardRef(s, q, k, v);
    const causalGrad = attentionBackwardRef(s, q, k, v, w);
    for (const window of [0, 5, 9]) {
      expect(attentionForwardRef({ ...s, window }, q, k, v)).toEqual(causal);
      expect(attentionBackwardRef({ ...s, window }, q, k, v, w)).toEqual(causalGrad);
    }
    const one = attentionForwardRef({ ...s, window: 1 }, q, k, v);
    for (let t = 0; t < 5; t++)
      for (let h = 0; h < 2; h++) {
        for (let d = 0; d < 3; d++) expect(one.out[(t * 2 + h) * 3 + d]).toBe(v[t * 3 + d]);
        const qk = dot(q.subarray((t * 2 + h) * 3, (t * 2 + h) * 3 + 3), k.subarray(t * 3, t * 3 + 3));
        expect(one.lse[h * 5 + t]).toBeCloseTo(0.6 * qk, 12);
      }
  });

  it('window 2: row t averages v_{t−1}, v_t with softmax weights; the capped lse is log Σ exp(cap·tanh(S/cap))', () => {
    const s: AttentionRefShape = { B: 1, T: 4, H: 1, KV: 1, D: 2, scale: 0.9, window: 2, softcap: 0.5 };
    const { q, k, v } = inputs(s, 11);
    const { out, lse } = attentionForwardRef(s, q, k, v);
    for (let t = 1; t < 4; t++) {
      const S = [t - 1, t].map((j) => 0.5 * Math.tanh((0.9 * dot(q.subarray(t * 2, t * 2 + 2), k.subarray(j * 2, j * 2 + 2))) / 0.5));
      const z = Math.exp(S[0] as number) + Math.exp(S[1] as number);
      expect(lse[t]).toBeCloseTo(Math.log(z), 12);
      for (let d = 0; d < 2; d++)
        expect(out[t * 2 + d]).toBeCloseTo((Math.exp(S[0] as number) * (v[(t - 1) * 2 + d] as number) + Math.exp(S[1] as number) * (v[t * 2 + d] as number)) / z, 12);
    }
  });

  it('rejects a negative or fractional window and a negative soft-cap', () => {
    const s: AttentionRefShape = { B: 1, T: 2, H: 1, KV: 1, D: 2, scale: 1 };
    const x = new Float64Array(4);
    expect(() => attentionForwardRef({ ...s, window: -1 }, x, x, x)).toThrow(/window must be a non-negative integer, got -1/);
    expect(() => attentionForwardRef({ ...s, window: 1.5 }, x, x, x)).toThrow(/window must be a non-negative integer, got 1.5/);
    expect(() => attentionForwardRef({ ...s, softcap: -2 }, x, x, x)).toThrow(/softcap must be finite and ≥ 0, got -2/);
  });
});
