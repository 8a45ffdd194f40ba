/**
 * Shared check of matmul variants (tests/gpu/matmul-skinny.test.ts, matmul-reg.test.ts): a variant against the f64
 * CPU reference and, bit for bit, against the tiled kernel it replaces (same fma order over K).
 */
import { expect } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { matmul, type MatmulArgs } from '../../src/engine/kernels/matmul';
import { matmulRef } from '../../src/engine/reference/matmul';
import { decodeToF32, encodeFromF32, type WeightDType } from '../../src/io/dtype';

/** One matmul case: shapes, transposes, weight dtype and epilogue options. */
export interface Case { M: number; N: number; K: number; transA: boolean; transB: boolean; dtype: WeightDType; alpha?: number; bias?: boolean; accumulate?: boolean }


/**
 * Runs `kernel` and the tiled matmul on the same random case; checks the f64 reference and bit-identity with the
 * tiled kernel, or (`bitIdentical` false: a variant that regroups the sum, e.g. split-K) that two runs of `kernel`
 * agree bit for bit (determinism).
 */
export async function check(c: Case, name: string, kernel: typeof matmul, bitIdentical = true): Promise<void> {
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
  kernel(ctx, enc, args(outs[0] as GPUBuffer));
  (bitIdentical ? matmul : kernel)(ctx, enc, args(outs[1] as GPUBuffer));
  await submitAndWait(ctx, [enc.finish()]);
  const got = await readF32(ctx, outs[0] as GPUBuffer, 0, c.M * c.N);
  const tiled = await readF32(ctx, outs[1] as GPUBuffer, 0, c.M * c.N);
  const want = matmulRef({ M: c.M, N: c.N, K: c.K, a, w, transA: c.transA, transB: c.transB, alpha: c.alpha ?? 1, ...(bias ? { bias } : {}), ...(init ? { init } : {}) });
  expectClose(got, want, 1e-5 * Math.sqrt(c.K) * 4, 1e-5, `${name} M=${c.M} N=${c.N} K=${c.K}`);
  expect(Array.from(got), bitIdentical ? `${name}: bit for bit the tiled kernel` : `${name}: the same bits on a second run`).toEqual(Array.from(tiled));
}

