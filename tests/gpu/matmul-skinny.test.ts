/**
 * matmulSkinny (the M ≤ 16 entry point of shaders/matmul.wgsl used by the chunked lm_head) against the f64 CPU
 * reference, and bit for bit against the tiled matmul it replaces (same fma order over K).
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { matmul, matmulSkinny, MATMUL_SKINNY_MAX_M, type MatmulArgs } from '../../src/engine/kernels/matmul';
import { matmulRef } from '../../src/engine/reference/matmul';
import { decodeToF32, encodeFromF32, type WeightDType } from '../../src/io/dtype';

interface Case { M: number; N: number; K: number; transA: boolean; transB: boolean; dtype: WeightDType; alpha?: number; bias?: boolean; accumulate?: boolean }

const CASES: Case[] = [
  { M: 1, N: 1, K: 1, transA: false, transB: true, dtype: 'F32' },
  { M: 3, N: 70, K: 130, transA: false, transB: true, dtype: 'BF16' },
  { M: 4, N: 129, K: 64, transA: false, transB: false, dtype: 'F16', alpha: 0.5 },
  { M: 5, N: 65, K: 200, transA: true, transB: false, dtype: 'F32', accumulate: true },
  { M: 8, N: 300, K: 77, transA: false, transB: true, dtype: 'BF16', bias: true },
  { M: 13, N: 64, K: 129, transA: true, transB: true, dtype: 'F16', alpha: -1.5, accumulate: true, bias: true },
  { M: 16, N: 100, K: 65, transA: false, transB: false, dtype: 'BF16' },
];

describe('matmulSkinny', () => {
  it.each(CASES)('M=$M N=$N K=$K transA=$transA transB=$transB $dtype: matches the f64 reference and the tiled kernel bit for bit', async (c) => {
    const ctx = await testGpu();
    const seed = c.M * 1000 + c.N + c.K;
    const a = randomF32(c.M * c.K, seed);
    const wBytes = encodeFromF32(randomF32(c.N * c.K, seed + 1), c.dtype);
    const w = decodeToF32(wBytes, c.dtype);
    const bias = c.bias ? randomF32(c.N, seed + 2) : undefined;
    const init = c.accumulate ? randomF32(c.M * c.N, seed + 3) : undefined;
    const outs = [0, 1].map(() => (init ? uploadStorage(ctx, init, 'out') : createStorage(ctx, c.M * c.N * 4, 'out')));
    const args = (out: GPUBuffer): MatmulArgs => ({
      M: c.M, N: c.N, K: c.K, transA: c.transA, transB: c.transB, wDtype: c.dtype, alpha: c.alpha ?? 1, accumulate: c.accumulate ?? false,
      a: uploadStorage(ctx, a, 'a'), w: uploadStorage(ctx, wBytes, 'w'), out, ...(bias ? { bias: uploadStorage(ctx, bias, 'bias') } : {}),
    });
    const enc = ctx.device.createCommandEncoder();
    matmulSkinny(ctx, enc, args(outs[0] as GPUBuffer));
    matmul(ctx, enc, args(outs[1] as GPUBuffer));
    await submitAndWait(ctx, [enc.finish()]);
    const got = await readF32(ctx, outs[0] as GPUBuffer, 0, c.M * c.N);
    const tiled = await readF32(ctx, outs[1] as GPUBuffer, 0, c.M * c.N);
    const want = matmulRef({ M: c.M, N: c.N, K: c.K, a, w, transA: c.transA, transB: c.transB, alpha: c.alpha ?? 1, ...(bias ? { bias } : {}), ...(init ? { init } : {}) });
    expectClose(got, want, 1e-5 * Math.sqrt(c.K) * 4, 1e-5, `skinny M=${c.M} N=${c.N} K=${c.K}`);
    expect(Array.from(got)).toEqual(Array.from(tiled));
  });

  it(`refuses M > ${MATMUL_SKINNY_MAX_M}`, async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 4096, 'b');
    const enc = ctx.device.createCommandEncoder();
    expect(() => matmulSkinny(ctx, enc, { M: 17, N: 1, K: 1, a: b, w: b, wDtype: 'F32', transB: true, out: b })).toThrow(/M = 17 rows; this entry point takes at most 16/);
    enc.finish();
  });
});
