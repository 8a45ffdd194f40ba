/**
 * matmulReg (the register-blocked, barrier-free kernel of shaders/matmul_reg.wgsl that matmulAuto picks for K ≤ 256)
 * against the f64 CPU reference and bit for bit against the tiled kernel; and its fused LoRA entry (matmulLora with
 * K ≤ 256) bit for bit against the tiled `lora` entry. Shapes are off multiples of 4 and 64; every transpose, weight
 * dtype and the word-pair paths (bf16/f16 with even K or N) and their fallbacks (odd K or N) are covered.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { matmulLora, matmulReg, type MatmulLoraArgs } from '../../src/engine/kernels/matmul';
import { encodeFromF32, type WeightDType } from '../../src/io/dtype';
import { check, type Case } from './matmulCheck';

const CASES: Case[] = [
  { M: 1, N: 1, K: 1, transA: false, transB: true, dtype: 'F32' },
  { M: 70, N: 66, K: 64, transA: false, transB: true, dtype: 'BF16', bias: true },
  { M: 33, N: 70, K: 65, transA: false, transB: true, dtype: 'BF16' },
  { M: 129, N: 30, K: 172, transA: false, transB: false, dtype: 'BF16', accumulate: true },
  { M: 17, N: 31, K: 40, transA: false, transB: false, dtype: 'F16', alpha: 0.5 },
  { M: 50, N: 18, K: 100, transA: false, transB: true, dtype: 'F16', accumulate: true, bias: true, alpha: -1.5 },
  { M: 41, N: 77, K: 19, transA: true, transB: false, dtype: 'F32', accumulate: true },
  { M: 23, N: 45, K: 256, transA: true, transB: true, dtype: 'BF16' },
  { M: 300, N: 172, K: 64, transA: false, transB: true, dtype: 'BF16' },
  { M: 9, N: 13, K: 12, transA: false, transB: true, dtype: 'F32', bias: true },
  { M: 14, N: 10, K: 28, transA: false, transB: false, dtype: 'F32', accumulate: true },
];

/** Cases whose op(a) rows the auto entry reads as vec4s (K % 4 == 0, a not transposed): also run with scalar loads. */
const VEC4 = CASES.filter((c) => !c.transA && c.K % 4 === 0);

describe('matmulReg', () => {
  it.each(CASES)('M=$M N=$N K=$K transA=$transA transB=$transB $dtype: matches the f64 reference and the tiled kernel bit for bit', (c) => check(c, 'reg', matmulReg));
  it.each(VEC4)('M=$M N=$N K=$K transB=$transB $dtype with scalar op(a) loads: the same', (c) =>
    check(c, 'reg scalar', (ctx, enc, args) => matmulReg(ctx, enc, args, 'scalar')));
});

interface LoraCase { M: number; N: number; K: number; R: number; transB: boolean; trans2: boolean; dtype: WeightDType; accumulate: boolean; bias: boolean }

const LORA: LoraCase[] = [
  { M: 70, N: 66, K: 64, R: 8, transB: true, trans2: true, dtype: 'BF16', accumulate: false, bias: true },
  { M: 129, N: 64, K: 172, R: 8, transB: false, trans2: false, dtype: 'BF16', accumulate: true, bias: false },
  { M: 37, N: 31, K: 45, R: 5, transB: true, trans2: true, dtype: 'F16', accumulate: true, bias: true },
  { M: 20, N: 50, K: 33, R: 3, transB: false, trans2: false, dtype: 'F32', accumulate: false, bias: false },
  { M: 21, N: 18, K: 36, R: 4, transB: true, trans2: true, dtype: 'F32', accumulate: true, bias: true },
  { M: 19, N: 30, K: 40, R: 8, transB: false, trans2: false, dtype: 'F16', accumulate: true, bias: false }, // N % 4 ≠ 0: reg4_lora
];
const LORA_RUNS = LORA.flatMap((c) => (['auto', 'scalar'] as const).map((variant) => ({ ...c, variant })));

describe('matmulLora with K ≤ 256 (reg_lora)', () => {
  it.each(LORA_RUNS)('M=$M N=$N K=$K R=$R transB=$transB $dtype ($variant loads): equals the tiled lora entry bit for bit', async (c) => {
    const ctx = await testGpu();
    const seed = c.M * 7 + c.N * 3 + c.K;
    const wBytes = encodeFromF32(randomF32(c.N * c.K, seed + 1), c.dtype);
    const init = randomF32(c.M * c.N, seed + 4);
    const outs = [0, 1].map(() => (c.accumulate ? uploadStorage(ctx, init, 'out') : createStorage(ctx, c.M * c.N * 4, 'out')));
    const shared = {
      M: c.M, N: c.N, K: c.K, R: c.R, transB: c.transB, wDtype: c.dtype, alpha: 1.25, accumulate: c.accumulate, trans2: c.trans2, alpha2: 0.75,
      a: uploadStorage(ctx, randomF32(c.M * c.K, seed), 'a'), w: uploadStorage(ctx, wBytes, 'w'),
      a2: uploadStorage(ctx, randomF32(c.M * c.R, seed + 2), 'a2'), w2: uploadStorage(ctx, randomF32(c.N * c.R, seed + 3), 'w2'),
      ...(c.bias ? { bias: uploadStorage(ctx, randomF32(c.N, seed + 5), 'bias') } : {}),
    };
    const args = (out: GPUBuffer): MatmulLoraArgs => ({ ...shared, out });
    const enc = ctx.device.createCommandEncoder();
    matmulLora(ctx, enc, args(outs[0] as GPUBuffer), c.variant);
    matmulLora(ctx, enc, args(outs[1] as GPUBuffer), 'tiled');
    await submitAndWait(ctx, [enc.finish()]);
    const got = await readF32(ctx, outs[0] as GPUBuffer, 0, c.M * c.N);
    const tiled = await readF32(ctx, outs[1] as GPUBuffer, 0, c.M * c.N);
    expect(got.some((v) => v !== 0)).toBe(true);
    expect(Array.from(got)).toEqual(Array.from(tiled));
  });
});
