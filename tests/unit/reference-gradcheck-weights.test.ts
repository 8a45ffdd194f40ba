/**
 * Finite-difference checks (central differences, f64) of the CPU reference weight gradients of full-parameter
 * training: the RMSNorm weight (a = w and a = 1 + w), the embedding table (repeated ids, a scale) and a linear's
 * weight and bias (reference/matmul.ts dw, dbias), each for L = Σ y ⊙ g with a fixed random g.
 */
import { describe, it } from 'vitest';
import { gradcheck } from './gradcheck';
import { rmsnormRef, rmsnormWeightGradRef } from '../../src/engine/reference/rmsnorm';
import { embeddingBackwardRef, embeddingRef } from '../../src/engine/reference/embedding';
import { matmulBackwardRef, matmulRef } from '../../src/engine/reference/matmul';

function rand(n: number, seed: number, scale = 1, offset = 0): Float64Array {
  let s = seed >>> 0;
  return Float64Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return offset + (s / 2 ** 32 * 2 - 1) * scale;
  });
}

const dot = (y: ArrayLike<number>, g: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i] as number) * (g[i] as number);
  return s;
};

describe('weight gradients of the CPU references vs finite differences', () => {
  it.each([[0, 1], [1, 0]] as const)('rmsnorm weight (offset %i)', (offset, w0) => {
    const rows = 5;
    const C = 7;
    const x = rand(rows * C, 1, 2);
    const w = rand(C, 2, 0.4, w0);
    const g = rand(rows * C, 3);
    gradcheck(`rmsnorm dw offset ${offset}`, w, () => dot(rmsnormRef(x, w, rows, C, 1e-6, offset).y, g), rmsnormWeightGradRef(x, g, rows, C, 1e-6));
  });

  it('embedding table with repeated ids and a scale', () => {
    const V = 6;
    const C = 3;
    const ids = [4, 1, 4, 0, 5, 4, 1, 0];
    const table = rand(V * C, 4);
    const g = rand(ids.length * C, 5);
    const dE = embeddingBackwardRef(ids, g, V, C, 1.7);
    // rows 2 and 3 are never looked up: their gradient is zero, so check the rows that are
    const used = [0, 1, 4, 5];
    const x = Float64Array.from(used.flatMap((r) => [...table.subarray(r * C, r * C + C)]));
    const loss = () => {
      used.forEach((r, i) => table.set(x.subarray(i * C, i * C + C), r * C));
      return dot(embeddingRef(ids, table, V, C, 1.7), g);
    };
    gradcheck('embedding dE', x, loss, used.flatMap((r) => [...dE.subarray(r * C, r * C + C)]));
  });

  it('linear weight and bias (y = x Wᵀ + b)', () => {
    const M = 6;
    const N = 4;
    const K = 5;
    const x = rand(M * K, 6);
    const w = rand(N * K, 7);
    const b = rand(N, 8);
    const g = rand(M * N, 9);
    const args = () => ({ M, N, K, a: x, w, transB: true, bias: b });
    const grads = matmulBackwardRef(args(), g);
    gradcheck('linear dW', w, () => dot(matmulRef(args()), g), grads.dw);
    gradcheck('linear db', b, () => dot(matmulRef(args()), g), grads.dbias);
  });
});
