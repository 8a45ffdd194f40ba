/**
 * matvec (kernels/matvec.ts) against the f64 matmul reference: y = alpha·x·Wᵀ (+ bias) (+ y0) for one row, at N not a
 * multiple of 4, K odd (BF16/F16 rows that start mid-word) and K below / above the 64-thread stride.
 */
import { describe, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { uploadWeight } from '../../src/engine/gpu/weights';
import { matvec } from '../../src/engine/kernels/matvec';
import { matmulRef } from '../../src/engine/reference/matmul';
import { decodeToF32, encodeFromF32, type WeightDType } from '../../src/io/dtype';

const CASES: ReadonlyArray<readonly [number, number, WeightDType, boolean, boolean]> = [
  [1, 1, 'F32', false, false],
  [7, 33, 'BF16', true, false],
  [130, 257, 'BF16', false, true],
  [65, 64, 'F16', true, true],
  [9, 1031, 'F32', true, true],
];

describe('matvec', () => {
  it.each(CASES)('N=%i K=%i %s bias=%s accumulate=%s matches the f64 reference', async (N, K, dtype, hasBias, accumulate) => {
    const ctx = await testGpu();
    const x = randomF32(K, N + K, 1);
    const bytes = encodeFromF32(randomF32(N * K, N * 7 + K, 1), dtype);
    const wv = decodeToF32(bytes, dtype);
    const bias = randomF32(N, 3, 1);
    const y0 = randomF32(N, 4, 1);
    const alpha = 0.75;
    const w = uploadWeight(ctx, bytes, dtype, [N, K], 'w');
    const xb = uploadStorage(ctx, x, 'x');
    const yb = uploadStorage(ctx, y0, 'y');
    const bb = uploadStorage(ctx, bias, 'bias');
    const enc = ctx.device.createCommandEncoder();
    matvec(ctx, enc, { N, K, x: xb, w: w.buffer, wDtype: dtype, y: yb, alpha, accumulate, ...(hasBias ? { bias: bb } : {}) });
    await submitAndWait(ctx, [enc.finish()]);
    const ref = matmulRef({ M: 1, N, K, a: x, w: wv, transB: true, alpha, ...(hasBias ? { bias } : {}), ...(accumulate ? { init: y0 } : {}) });
    expectClose(await readF32(ctx, yb, 0, N), ref, 1e-5, 1e-5, 'y');
    [w.buffer, xb, yb, bb].forEach((b) => b.destroy());
  });
});
