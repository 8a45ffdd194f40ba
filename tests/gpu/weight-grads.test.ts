/**
 * The weight-gradient kernels of full-parameter training against the CPU f64 references, at shapes that are not
 * workgroup multiples: linear dW = dyᵀ·x through matmulAuto (transA; every variant it picks at these shapes,
 * split-K included), bias column sums, RMSNorm dw (offset 0 and 1 share it), and the embedding scatter-add
 * (repeated ids, a scale, a split table).
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { matmulAuto, matmulVariant } from '../../src/engine/kernels/matmul';
import { biasGrad } from '../../src/engine/kernels/biasGrad';
import { rmsnormForward, rmsnormWeightGrad } from '../../src/engine/kernels/rmsnorm';
import { embeddingBackward, embeddingGradIndex } from '../../src/engine/kernels/embeddingGrad';
import { matmulBackwardRef } from '../../src/engine/reference/matmul';
import { rmsnormWeightGradRef } from '../../src/engine/reference/rmsnorm';
import { embeddingBackwardRef } from '../../src/engine/reference/embedding';

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
};

describe('linear weight and bias gradients (dW += dyᵀ·x, db += Σ dy)', () => {
  // [M tokens, out, in]: K of the dW product = M tokens (600 → split-K for a thin output on any adapter)
  it.each([[37, 19, 23], [130, 65, 33], [600, 12, 70], [97, 3, 129]])('M = %i, out = %i, in = %i', async (M, N, K) => {
    const ctx = await testGpu();
    const x = randomF32(M * K, M + N, 1);
    const dy = randomF32(M * N, M * 3 + K, 1);
    const dW0 = randomF32(N * K, 11);
    const db0 = randomF32(N, 12);
    const xb = uploadStorage(ctx, x, 'x');
    const dyb = uploadStorage(ctx, dy, 'dy');
    const dW = uploadStorage(ctx, dW0, 'dW');
    const db = uploadStorage(ctx, db0, 'db');
    const enc = ctx.device.createCommandEncoder();
    matmulAuto(ctx, enc, { M: N, N: K, K: M, a: dyb, transA: true, w: xb, wDtype: 'F32', transB: false, out: dW, accumulate: true });
    biasGrad(ctx, enc, { M, N, dy: dyb, db, accumulate: true });
    await submitAndWait(ctx, [enc.finish()]);
    const ref = matmulBackwardRef({ M, N, K, a: x, w: new Float32Array(N * K), transB: true, bias: new Float32Array(N) }, dy);
    const wantW = ref.dw.map((v, i) => v + (dW0[i] as number));
    const wantB = ref.dbias.map((v, i) => v + (db0[i] as number));
    const what = `${matmulVariant(N, K, M)} M=${M} N=${N} K=${K}`;
    expectClose(await readF32(ctx, dW, 0, N * K), wantW, 1e-5 * Math.sqrt(M), 1e-5, `dW ${what}`);
    expectClose(await readF32(ctx, db, 0, N), wantB, 1e-5 * Math.sqrt(M), 1e-5, `db ${what}`);
  });
});

describe('rmsnorm weight gradient dw[c] = Σ_r dy·x·rstd', () => {
  it.each([[1, 1, false], [67, 7, false], [5, 130, true], [300, 65, true]] as const)('rows = %i, C = %i (accumulate %s)', async (rows, C, accumulate) => {
    const ctx = await testGpu();
    const x = randomF32(rows * C, rows + C, 2);
    const dy = randomF32(rows * C, rows * 7 + C, 1);
    const dw0 = randomF32(C, 5);
    const xb = uploadStorage(ctx, x, 'x');
    const dyb = uploadStorage(ctx, dy, 'dy');
    const w = uploadStorage(ctx, new Float32Array(C).fill(1), 'w');
    const y = createStorage(ctx, rows * C * 4, 'y');
    const rstd = createStorage(ctx, rows * 4, 'rstd');
    const dw = accumulate ? uploadStorage(ctx, dw0, 'dw') : createStorage(ctx, C * 4, 'dw');
    const enc = ctx.device.createCommandEncoder();
    rmsnormForward(ctx, enc, { rows, C, eps: 1e-6, x: xb, weight: w, out: y, rstd });
    rmsnormWeightGrad(ctx, enc, { rows, C, x: xb, rstd, dout: dyb, dw, accumulate });
    await submitAndWait(ctx, [enc.finish()]);
    let want = rmsnormWeightGradRef(x, dy, rows, C, 1e-6);
    if (accumulate) want = want.map((v, i) => v + (dw0[i] as number));
    expectClose(await readF32(ctx, dw, 0, C), want, 1e-5 * Math.sqrt(rows), 1e-5, `dw rows=${rows} C=${C}`);
  });
});

describe('embedding gradient: deterministic scatter-add', () => {
  it('groups positions by id (counting sort) and refuses an id outside the vocabulary', () => {
    const idx = embeddingGradIndex([3, 1, 3, 0, 3], 4);
    expect(idx.U).toBe(3);
    expect([...idx.data]).toEqual([0, 1, 3, 0, 1, 2, 5, 3, 1, 0, 2, 4]);
    expect(() => embeddingGradIndex([0, 4], 4)).toThrow(/input_ids\[1\] = 4 is outside the vocabulary \[0, 4\)/);
  });

  it.each([[1, 0], [1.75, 0], [1, 37]])('M = 203, C = 67, V = 101, scale %d, table chunk of %i rows', async (scale, chunk) => {
    const ctx = await testGpu();
    const M = 203;
    const C = 67;
    const V = 101;
    const ids = Array.from({ length: M }, (_, i) => (i * 37 + (i % 5) * 11) % 91);
    const dx = randomF32(M * C, 99, 1);
    const dE0 = randomF32(V * C, 98, 1);
    const index = embeddingGradIndex(ids, V);
    const ib = uploadStorage(ctx, index.data, 'index');
    const dxb = uploadStorage(ctx, dx, 'dx');
    const want = embeddingBackwardRef(ids, dx, V, C, Math.fround(scale)).map((v, i) => v + (dE0[i] as number));
    const enc = ctx.device.createCommandEncoder();
    const parts: { row0: number; rows: number; buf: GPUBuffer }[] = [];
    for (let row0 = 0; row0 < V; row0 += chunk || V) {
      const rows = Math.min(chunk || V, V - row0);
      const buf = uploadStorage(ctx, dE0.slice(row0 * C, (row0 + rows) * C), `dE[${row0}]`);
      parts.push({ row0, rows, buf });
      embeddingBackward(ctx, enc, { M, U: index.U, C, V: rows, ...(chunk ? { rowStart: row0 } : {}), index: ib, dx: dxb, dE: buf, scale });
    }
    await submitAndWait(ctx, [enc.finish()]);
    const got = new Float32Array(V * C);
    for (const p of parts) got.set(await readF32(ctx, p.buf, 0, p.rows * C), p.row0 * C);
    expectClose(got, want, 1e-5 * maxAbs(want), 1e-5, `dE scale ${scale} chunk ${chunk}`);
  });
});
