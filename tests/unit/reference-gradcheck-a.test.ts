/**
 * Finite-difference checks (central differences, f64) of the CPU reference backwards of group A:
 * matmul, rmsnorm, swiglu. Each checks ∂L/∂input for L = Σ y ⊙ g with a fixed random g.
 */
import { describe, expect, it } from 'vitest';
import { matmulBackwardRef, matmulRef, type MatmulRefArgs } from '../../src/engine/reference/matmul';
import { rmsnormBackwardRef, rmsnormRef } from '../../src/engine/reference/rmsnorm';
import { swigluBackwardRef, swigluRef } from '../../src/engine/reference/swiglu';
import { embeddingRef } from '../../src/engine/reference/embedding';

/** Deterministic uniform(−scale, scale) f64 values (LCG). */
function rand(n: number, seed: number, scale = 1): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 * 2 - 1) * scale;
  });
}

const H = 1e-6;

/** Σ f(x) ⊙ g. */
function dotLoss(y: ArrayLike<number>, g: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i] as number) * (g[i] as number);
  return s;
}

/**
 * Compares `analytic` with central differences of `loss` over every element of `x` (perturbed in place).
 * Tolerance: |fd − analytic| ≤ 1e-7 + 1e-6·|analytic|.
 */
function expectGradient(x: Float64Array, loss: () => number, analytic: ArrayLike<number>, what: string): void {
  expect(analytic.length, `${what}: gradient length`).toBe(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i] as number;
    x[i] = x0 + H;
    const lp = loss();
    x[i] = x0 - H;
    const lm = loss();
    x[i] = x0;
    const fd = (lp - lm) / (2 * H);
    const a = analytic[i] as number;
    if (!(Math.abs(fd - a) <= 1e-7 + 1e-6 * Math.abs(a))) throw new Error(`${what}[${i}]: analytic ${a}, finite difference ${fd}`);
  }
}

describe('matmulBackwardRef vs finite differences of matmulRef', () => {
  const combos = [false, true].flatMap((transA) => [false, true].map((transB) => ({ transA, transB })));
  it.each(combos)('transA $transA transB $transB, M=3 N=5 K=7, alpha −1.5, with bias and init', ({ transA, transB }) => {
    const M = 3, N = 5, K = 7;
    const a = rand(M * K, 1), w = rand(N * K, 2), bias = rand(N, 3), init = rand(M * N, 4), g = rand(M * N, 5);
    const args: MatmulRefArgs = { M, N, K, a, transA, w, transB, alpha: -1.5, bias, init };
    const grads = matmulBackwardRef(args, g);
    const loss = (): number => dotLoss(matmulRef(args), g);
    expectGradient(a, loss, grads.da, 'da');
    expectGradient(w, loss, grads.dw, 'dw');
    expectGradient(bias, loss, grads.dbias, 'dbias');
  });

  it('rejects arrays whose length does not match M, N, K', () => {
    expect(() => matmulRef({ M: 2, N: 3, K: 4, a: new Float64Array(7), w: new Float64Array(12), transB: true })).toThrow(/a has 7 values, expected 8/);
  });
});

describe('rmsnormBackwardRef vs finite differences of rmsnormRef', () => {
  it.each([[3, 5], [2, 1], [1, 33]])('rows = %i, C = %i', (rows, C) => {
    const x = rand(rows * C, rows + C, 2), w = rand(C, 7).map((v) => 1 + 0.5 * v), g = rand(rows * C, 8);
    const eps = 1e-5;
    const loss = (): number => dotLoss(rmsnormRef(x, w, rows, C, eps).y, g);
    expectGradient(x, loss, rmsnormBackwardRef(x, w, g, rows, C, eps), 'dx');
  });

  it.each([[3, 5], [2, 1], [1, 33]])('offset 1 (Gemma 3, a = 1 + w): rows = %i, C = %i', (rows, C) => {
    const x = rand(rows * C, rows + C, 2), w = rand(C, 7, 0.4), g = rand(rows * C, 8);
    const eps = 1e-6;
    const loss = (): number => dotLoss(rmsnormRef(x, w, rows, C, eps, 1).y, g);
    expectGradient(x, loss, rmsnormBackwardRef(x, w, g, rows, C, eps, 1), 'dx');
  });

  it('offset 1 is the offset-0 norm with weight 1 + w (y = x·rstd·(1 + w), a hand-computed row)', () => {
    const { y, rstd } = rmsnormRef([3, 4], [0.25, -0.5], 1, 2, 0.5, 1);
    expect(Array.from(y)).toEqual([3 * (rstd[0] as number) * 1.25, 4 * (rstd[0] as number) * 0.5]);
  });

  it('rstd is 1/sqrt(mean(x²) + eps) (a hand-computed row)', () => {
    const { y, rstd } = rmsnormRef([3, 4], [1, 2], 1, 2, 0.5);
    expect(rstd[0]).toBeCloseTo(1 / Math.sqrt(12.5 + 0.5), 14);
    expect(Array.from(y)).toEqual([3 * (rstd[0] as number), 8 * (rstd[0] as number)]);
  });
});

describe('swigluBackwardRef vs finite differences of swigluRef', () => {
  it('n = 9 including |gate| up to 12', () => {
    const gate = Float64Array.from([...rand(7, 11, 4), 12, -12]), up = rand(9, 12, 2), g = rand(9, 13);
    const grads = swigluBackwardRef(gate, up, g);
    const loss = (): number => dotLoss(swigluRef(gate, up), g);
    expectGradient(gate, loss, grads.dgate, 'dgate');
    expectGradient(up, loss, grads.dup, 'dup');
  });

  it('gelu_tanh (GeGLU): n = 11 including |gate| up to 9', () => {
    const gate = Float64Array.from([...rand(9, 21, 4), 9, -9]), up = rand(11, 22, 2), g = rand(11, 23);
    const grads = swigluBackwardRef(gate, up, g, 'gelu_tanh');
    const loss = (): number => dotLoss(swigluRef(gate, up, 'gelu_tanh'), g);
    expectGradient(gate, loss, grads.dgate, 'dgate');
    expectGradient(up, loss, grads.dup, 'dup');
  });

  it('gelu_tanh = 0.5·z·(1 + tanh(√(2/π)·(z + 0.044715·z³))) at hand-picked points, finite at ±1e4', () => {
    const h = swigluRef([0, 1, -1, 3, 1e4, -1e4], [1, 1, 1, 1, 1, 1], 'gelu_tanh');
    // The formula evaluated in Python's math module (f64); gelu_tanh(±1) ≈ 0.8412 / −0.1588 as torch prints them.
    expect(h[0]).toBe(0);
    expect(h[1]).toBeCloseTo(0.8411919906082768, 12);
    expect(h[2]).toBeCloseTo(-0.15880800939172324, 12);
    expect(h[3]).toBeCloseTo(2.996362607918227, 12);
    expect([h[4], h[5]]).toEqual([1e4, -0]);
    expect(Array.from(swigluBackwardRef([1e4, -1e4], [1, 1], [1, 1], 'gelu_tanh').dgate)).toEqual([1, 0]);
  });

  it('silu(z) = z·σ(z) at hand-picked points, without overflow at ±1000', () => {
    const h = swigluRef([0, 1, -1, 1000, -1000], [1, 1, 1, 1, 1]);
    expect(Array.from(h)).toEqual([0, 1 / (1 + Math.exp(-1)), -1 / (1 + Math.exp(1)), 1000, -1000 * Math.exp(-1000) / (1 + Math.exp(-1000))]);
  });
});

describe('embeddingRef', () => {
  it('copies rows and names the row of an out-of-range id', () => {
    expect(Array.from(embeddingRef([2, 0], [1, 2, 3, 4, 5, 6], 3, 2))).toEqual([5, 6, 1, 2]);
    expect(() => embeddingRef([0, 3], [1, 2, 3, 4, 5, 6], 3, 2)).toThrow(/input_ids\[1\] = 3 is outside \[0, 3\)/);
  });

  it('multiplies by the scale (Gemma 3 embed_scale)', () => {
    expect(Array.from(embeddingRef([2, 0], [1, 2, 3, 4, 5, 6], 3, 2, 0.5))).toEqual([2.5, 3, 0.5, 1]);
  });
});
