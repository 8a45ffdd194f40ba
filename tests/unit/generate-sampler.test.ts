/**
 * The CPU sampler (engine/generate/sampler.ts) against its definition: greedy = first argmax; temperature then
 * top-p (HF TopPLogitsWarper semantics, checked with an independent ascending-cumsum loop as HF writes it);
 * seeded draws reproducible and distributed as the renormalised nucleus.
 */
import { describe, expect, it } from 'vitest';
import { argmax, nucleus, sampleToken, SamplingError } from '../../src/engine/generate/sampler';
import { makeRng } from '../../src/engine/train/rng';

/** HF TopPLogitsWarper on probabilities: sort ascending, drop cumsum ≤ 1 − top_p, keep the top token. */
function hfTopPSupport(logits: number[], T: number, topP: number): Set<number> {
  const mx = Math.max(...logits.map((l) => l / T));
  const e = logits.map((l) => Math.exp(l / T - mx));
  const z = e.reduce((a, b) => a + b, 0);
  const p = e.map((x) => x / z);
  const asc = p.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const keep = new Set<number>();
  let cum = 0;
  asc.forEach(([x, i], k) => {
    cum += x;
    if (cum > 1 - topP || k === asc.length - 1) keep.add(i);
  });
  return keep;
}

describe('sampler', () => {
  it('greedy is the first maximum and does not touch the rng', () => {
    let calls = 0;
    const rng = () => (calls++, 0.5);
    expect(sampleToken([0.1, 3, -1, 3], { temperature: 0, topP: 0.5 }, rng)).toBe(1);
    expect(argmax(new Float32Array([-5, -2, -2]))).toBe(1);
    expect(calls).toBe(0);
  });

  it('top-p keeps the same support as HF TopPLogitsWarper (temperature applied first)', () => {
    const rng = makeRng(3);
    for (let trial = 0; trial < 200; trial++) {
      const V = 2 + Math.floor(rng() * 30);
      const logits = Array.from({ length: V }, () => (rng() - 0.5) * 8);
      const T = 0.3 + rng() * 2;
      const topP = 0.05 + rng() * 0.9;
      const got = nucleus(logits, T, topP);
      expect(new Set(got.ids)).toEqual(hfTopPSupport(logits, T, topP));
      expect(got.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });

  it('top-p restricts the draws to the nucleus; a seed reproduces the sequence', () => {
    const logits = [2.0, 1.9, 1.0, 0.1, -1, -3];
    const s = { temperature: 1, topP: 0.6 };
    const support = hfTopPSupport(logits, 1, 0.6);
    expect([...support].sort()).toEqual([0, 1]);
    const draw = (seed: number) => {
      const rng = makeRng(seed);
      return Array.from({ length: 400 }, () => sampleToken(logits, s, rng));
    };
    const a = draw(42);
    expect(draw(42)).toEqual(a);
    expect(draw(43)).not.toEqual(a);
    expect(new Set(a)).toEqual(support);
    // Frequencies follow the renormalised nucleus p0 / (p0 + p1) = 1 / (1 + e^−0.1) ≈ 0.525.
    const f0 = a.filter((x) => x === 0).length / a.length;
    expect(Math.abs(f0 - 1 / (1 + Math.exp(-0.1)))).toBeLessThan(0.08);
  });

  it('top-p 1 samples the whole softmax; a large vocabulary keeps the exact nucleus', () => {
    const rng = makeRng(9);
    const counts = new Array(3).fill(0);
    for (let i = 0; i < 3000; i++) counts[sampleToken([0, Math.log(2), Math.log(3)], { temperature: 1, topP: 1 }, rng)]++;
    [1 / 6, 2 / 6, 3 / 6].forEach((p, i) => expect(Math.abs(counts[i] / 3000 - p)).toBeLessThan(0.03));
    const V = 50000;
    const big = Array.from({ length: V }, (_, i) => Math.sin(i * 12.9898) * 6);
    expect(new Set(nucleus(big, 0.7, 0.9).ids)).toEqual(hfTopPSupport(big, 0.7, 0.9));
  });

  it('rejects bad settings by name', () => {
    expect(() => sampleToken([1], { temperature: -1, topP: 1 }, Math.random)).toThrow(SamplingError);
    expect(() => sampleToken([1], { temperature: 1, topP: 0 }, Math.random)).toThrow(/top_p/);
    expect(() => sampleToken([1], { temperature: Number.NaN, topP: 1 }, Math.random)).toThrow(/temperature/);
  });
});
