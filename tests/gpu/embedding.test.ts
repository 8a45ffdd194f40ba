import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../../src/engine/gpu/context';
import { uploadWeight } from '../../src/engine/gpu/weights';
import { embeddingForward } from '../../src/engine/kernels/embedding';
import { embeddingRef } from '../../src/engine/reference/embedding';
import { decodeToF32, encodeFromF32, type WeightDType } from '../../src/io/dtype';

/**
 * GPU lookup vs embeddingRef on the decoded table; ids outside [0, V) must give zero rows. With a scale: exact against
 * the f64 product rounded once to f32 (a product of two f32 values is exact in f64).
 */
async function check(ctx: GpuContext, M: number, C: number, V: number, dtype: WeightDType, ids: Int32Array, scale?: number): Promise<void> {
  const bytes = encodeFromF32(randomF32(V * C, V + C, 3), dtype);
  const table = decodeToF32(bytes, dtype);
  const out = uploadStorage(ctx, new Float32Array(M * C).fill(Number.NaN), 'out');
  const enc = ctx.device.createCommandEncoder();
  embeddingForward(ctx, enc, { M, C, V, ids: uploadStorage(ctx, ids, 'input_ids'), table: uploadWeight(ctx, bytes, dtype, [V, C], 'embed_tokens').buffer, tableDtype: dtype, out, ...(scale === undefined ? {} : { scale }) });
  await submitAndWait(ctx, [enc.finish()]);
  const valid = Array.from(ids, (id) => (id >= 0 && id < V ? id : 0));
  const want = embeddingRef(valid, table, V, C, Math.fround(scale ?? 1)).map(Math.fround);
  ids.forEach((id, m) => {
    if (id < 0 || id >= V) want.fill(0, m * C, (m + 1) * C);
  });
  expectClose(await readF32(ctx, out, 0, M * C), want, 0, 0, `embedding ${dtype} M=${M} C=${C} V=${V}`);
}

describe('embedding forward vs CPU reference (exact: a lookup and an exact upcast)', () => {
  it.each(['F32', 'BF16', 'F16'] as const)('%s table, odd C and V, repeated ids', async (dtype) => {
    const ctx = await testGpu();
    await check(ctx, 1, 1, 1, dtype, Int32Array.from([0]));
    await check(ctx, 7, 33, 11, dtype, Int32Array.from([10, 0, 3, 3, 7, 1, 10]));
    await check(ctx, 5, 5, 3, dtype, Int32Array.from([2, 1, 0, 1, 2])); // odd C: rows straddle u32 words
  });

  it.each(['F32', 'BF16', 'F16'] as const)('%s table times embed_scale = f32(sqrt(C)) (Gemma 3), C = 65, M = 37', async (dtype) => {
    const ctx = await testGpu();
    const [M, C, V] = [37, 65, 300];
    await check(ctx, M, C, V, dtype, Int32Array.from({ length: M }, (_, i) => (i * 131) % V), Math.sqrt(C));
    await check(ctx, 5, 9, 6, dtype, Int32Array.from([-1, 5, 6, 2, 0]), Math.sqrt(9)); // zero rows stay zero
  });

  it('scale 1 (and no scale) copy the table bits; a non-finite scale is refused', async () => {
    const ctx = await testGpu();
    await check(ctx, 7, 33, 11, 'BF16', Int32Array.from([10, 0, 3, 3, 7, 1, 10]), 1);
    const b = createStorage(ctx, 4096, 'b');
    const enc = ctx.device.createCommandEncoder();
    expect(() => embeddingForward(ctx, enc, { M: 2, C: 3, V: 10, ids: b, table: b, tableDtype: 'BF16', out: b, scale: Number.NaN })).toThrow(/embedding: scale = NaN; expected a finite number/);
    expect(() => embeddingForward(ctx, enc, { M: 2, C: 3, V: 10, ids: b, table: b, tableDtype: 'BF16', out: b, scale: 1e39 })).toThrow(/scale = 1e\+39/);
    enc.finish();
  });

  it('out-of-range ids (−1, V, 2^31 − 1) write zero rows', async () => {
    const ctx = await testGpu();
    await check(ctx, 5, 9, 6, 'BF16', Int32Array.from([-1, 5, 6, 2147483647, 0]));
  });

  it('elements beyond the per-dimension workgroup limit use the 2-D grid (limit forced to 4)', async () => {
    const real = await testGpu();
    const ctx: GpuContext = { ...real, limits: { ...real.limits, maxComputeWorkgroupsPerDimension: 4 } };
    const M = 31, C = 97; // 3007 outputs → 12 workgroups of 256 → grid [4, 3]
    await check(ctx, M, C, 40, 'F16', Int32Array.from({ length: M }, (_, i) => (i * 7) % 40));
  });

  it('names the tensor when a binding is too small', async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 16, 'b');
    const enc = ctx.device.createCommandEncoder();
    expect(() => embeddingForward(ctx, enc, { M: 2, C: 3, V: 10, ids: b, table: b, tableDtype: 'BF16', out: b })).toThrow(/table \[V=10, C=3\] BF16 needs 60 bytes/);
    enc.finish();
  });
});
