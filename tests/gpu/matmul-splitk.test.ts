/**
 * matmulSplitK (shaders/matmul_reg.wgsl `splitk_partial` + `splitk_reduce`, which matmulAuto picks for LoRA weight
 * gradients dA = duᵀ·x and dB = s·dyᵀ·u over many tokens) against the f64 CPU reference, and bit for bit against a
 * second run (deterministic). It regroups the sum by chunk, so it is not bit-identical to the tiled kernel.
 * K is off the chunk (128) and block (4) multiples; one case has K < chunk (one chunk), one K = 0 (out = bias).
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { createStorage } from '../../src/engine/gpu/buffers';
import { matmulAuto, matmulSplitK, matmulVariant } from '../../src/engine/kernels/matmul';
import { check, type Case } from './matmulCheck';

const CASES: Case[] = [
  { M: 172, N: 8, K: 1720, transA: true, transB: false, dtype: 'F32', accumulate: true, alpha: 2 }, // demo dB
  { M: 8, N: 172, K: 1720, transA: true, transB: false, dtype: 'F32', accumulate: true }, // demo dA
  { M: 5, N: 70, K: 515, transA: true, transB: false, dtype: 'F32', bias: true, alpha: -0.5 },
  { M: 13, N: 3, K: 700, transA: false, transB: true, dtype: 'BF16', accumulate: true },
  { M: 7, N: 9, K: 646, transA: false, transB: false, dtype: 'F16', bias: true },
  { M: 3, N: 5, K: 77, transA: true, transB: true, dtype: 'BF16' },
  { M: 6, N: 5, K: 0, transA: true, transB: false, dtype: 'F32', bias: true, accumulate: true },
];

describe('matmulSplitK', () => {
  it.each(CASES)('M=$M N=$N K=$K transA=$transA transB=$transB $dtype: matches the f64 reference, the same bits run to run', (c) =>
    check(c, 'splitK', matmulSplitK, false));

  it('is what matmulAuto records for the LoRA weight-gradient shapes', async () => {
    expect(matmulVariant(64, 8, 1720)).toBe('splitK');
    await check({ M: 64, N: 8, K: 1720, transA: true, transB: false, dtype: 'F32', accumulate: true, alpha: 2 }, 'auto', matmulAuto, false);
  });

  it('refuses an odd or non-positive chunk', async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 4096, 'b');
    const enc = ctx.device.createCommandEncoder();
    expect(() => matmulSplitK(ctx, enc, { M: 2, N: 2, K: 4, a: b, w: b, wDtype: 'F32', transB: true, out: b }, 3)).toThrow(/chunk = 3; expected a positive even integer/);
    enc.finish();
  });
});
