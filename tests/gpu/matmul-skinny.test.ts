/**
 * matmulSkinny (the M ≤ 16 entry point of shaders/matmul.wgsl used by the chunked lm_head) and matmulThin (the
 * barrier-free rank-r kernel matmulAuto picks for N ≤ 16 or M ≤ 16) against the f64 CPU reference, and bit for bit
 * against the tiled matmul they replace (same fma order over K).
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { createStorage } from '../../src/engine/gpu/buffers';
import { matmulAuto, matmulSkinny, matmulThin, matmulVariant, MATMUL_SKINNY_MAX_M, regMaxKFor } from '../../src/engine/kernels/matmul';
import { check, type Case } from './matmulCheck';

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
  it.each(CASES)('M=$M N=$N K=$K transA=$transA transB=$transB $dtype: matches the f64 reference and the tiled kernel bit for bit', (c) => check(c, 'skinny', matmulSkinny));

  it(`refuses M > ${MATMUL_SKINNY_MAX_M}`, async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 4096, 'b');
    const enc = ctx.device.createCommandEncoder();
    expect(() => matmulSkinny(ctx, enc, { M: 17, N: 1, K: 1, a: b, w: b, wDtype: 'F32', transB: true, out: b })).toThrow(/M = 17 rows; this entry point takes at most 16/);
    enc.finish();
  });
});

/** Thin cases: every transpose pair and weight dtype once, thin N (rows false) and thin M (rows true), off 4 and 64. */
const THIN: Array<Case & { rows: boolean }> = [
  { M: 1, N: 1, K: 1, transA: false, transB: true, dtype: 'F32', rows: false },
  { M: 70, N: 3, K: 130, transA: false, transB: true, dtype: 'BF16', rows: false, bias: true },
  { M: 129, N: 8, K: 65, transA: false, transB: false, dtype: 'F16', rows: false, alpha: 0.5 },
  { M: 200, N: 13, K: 77, transA: true, transB: false, dtype: 'F32', rows: false, accumulate: true, alpha: -1.25 },
  { M: 65, N: 16, K: 33, transA: true, transB: true, dtype: 'BF16', rows: false, accumulate: true, bias: true },
  { M: 5, N: 70, K: 130, transA: true, transB: false, dtype: 'F32', rows: true, accumulate: true, alpha: 2 },
  { M: 16, N: 129, K: 64, transA: false, transB: true, dtype: 'BF16', rows: true, bias: true },
  { M: 9, N: 33, K: 200, transA: true, transB: true, dtype: 'F16', rows: true },
  { M: 3, N: 65, K: 17, transA: false, transB: false, dtype: 'F16', rows: true, accumulate: true, bias: true, alpha: 0.75 },
];

describe('matmulThin', () => {
  it.each(THIN)('M=$M N=$N K=$K transA=$transA transB=$transB $dtype rows=$rows: matches the f64 reference and the tiled kernel bit for bit', (c) =>
    check(c, 'thin', (ctx, enc, args) => matmulThin(ctx, enc, args, c.rows)));

  it('matmulAuto picks reg for short reductions, split-K for few outputs over long ones, thin for other rank-r shapes, tiled otherwise; thin refuses a dimension above 16', async () => {
    expect(matmulVariant(1720, 8, 64)).toBe('reg'); // u = x·Aᵀ at the demo's shapes
    expect(matmulVariant(1720, 8, 172)).toBe('reg'); // du = s·dy·B
    expect(matmulVariant(172, 8, 1720)).toBe('splitK'); // dB = s·dyᵀ·u
    expect(matmulVariant(8, 172, 1720)).toBe('splitK'); // dA = duᵀ·x
    expect(matmulVariant(8, 172, 511)).toBe('thinM');
    expect(matmulVariant(1720, 8, 300)).toBe('thinN');
    expect(matmulVariant(8, 8, 300)).toBe('thinN');
    expect(matmulVariant(3072, 16, 2048)).toBe('splitK');
    expect(matmulVariant(4096, 16, 2048)).toBe('thinN'); // 4096 blocks: enough threads without a split
    expect(matmulVariant(1720, 64, 512)).toBe('tiled');
    expect(matmulVariant(17, 17, 300)).toBe('tiled');
    expect(matmulVariant(1720, 64, 64)).toBe('reg');
    expect(matmulVariant(1720, 64, 257)).toBe('tiled');
    expect(matmulVariant(1720, 64, 1024, Number.POSITIVE_INFINITY)).toBe('reg'); // CPU adapters: no K limit
    expect(matmulVariant(172, 8, 1720, Number.POSITIVE_INFINITY)).toBe('splitK');
    const gpu = (architecture: string, description: string, vendor: string, isFallbackAdapter = false) => regMaxKFor({ architecture, description, vendor, isFallbackAdapter });
    expect(gpu('swiftshader', '', 'google', true)).toBe(Number.POSITIVE_INFINITY);
    expect(gpu('', 'llvmpipe (LLVM 15.0.6, 256 bits)', 'mesa')).toBe(Number.POSITIVE_INFINITY);
    expect(gpu('ampere', 'NVIDIA GeForce RTX 3090', 'nvidia')).toBe(256);
    expect(gpu('rdna-3', '', 'amd')).toBe(256);
    await check({ M: 40, N: 6, K: 50, transA: false, transB: true, dtype: 'BF16' }, 'auto', matmulAuto);
    await check({ M: 40, N: 6, K: 300, transA: false, transB: true, dtype: 'BF16' }, 'auto', matmulAuto);
    const ctx = await testGpu();
    const b = createStorage(ctx, 4096, 'b');
    const enc = ctx.device.createCommandEncoder();
    expect(() => matmulThin(ctx, enc, { M: 2, N: 17, K: 1, a: b, w: b, wDtype: 'F32', transB: true, out: b }, false)).toThrow(/N = 17; this entry point takes at most 16/);
    enc.finish();
  });
});
