/**
 * shaders/softcap.wgsl (x ← cap·tanh(x/cap) in place, Gemma final_logit_softcapping on the generation head) against
 * the f64 reference, at sizes that are not workgroup multiples and at |x/cap| large enough to overflow a naive tanh.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../../src/engine/gpu/context';
import { softcapInPlace } from '../../src/engine/kernels/softcap';
import { softcapRef } from '../../src/engine/reference/softcap';

async function check(ctx: GpuContext, x: Float32Array, cap: number): Promise<void> {
  const b = uploadStorage(ctx, x, 'logits');
  const enc = ctx.device.createCommandEncoder();
  softcapInPlace(ctx, enc, { n: x.length, cap, x: b });
  await submitAndWait(ctx, [enc.finish()]);
  // |error| of a few f32 ulps of cap (tanh from e^{−2|y|}), or of the value itself for small values.
  expectClose(await readF32(ctx, b), softcapRef(x, Math.fround(cap)), 4e-7 * cap, 4e-7, `softcap n=${x.length} cap=${cap}`);
  b.destroy();
}

describe('softcapInPlace vs the f64 reference', () => {
  it.each([[1, 30], [255, 30], [1000, 30], [70_001, 15.5]])('n = %i, cap = %f, |x| up to 4·cap', async (n, cap) => {
    const ctx = await testGpu();
    await check(ctx, randomF32(n, n, 4 * cap), cap);
  });

  it('huge and tiny values: ±cap beyond |x| ≫ cap (no NaN), x itself near 0, signs kept', async () => {
    const ctx = await testGpu();
    await check(ctx, Float32Array.from([1e4, -1e4, 3e38, -3e38, 1e-30, -1e-30, 0, -0, 29.9, -30.1, 0.001]), 30);
  });

  it('the 2-D grid beyond the per-dimension workgroup limit (limit forced to 4)', async () => {
    const real = await testGpu();
    const ctx: GpuContext = { ...real, limits: { ...real.limits, maxComputeWorkgroupsPerDimension: 4 } };
    await check(ctx, randomF32(256 * 11 + 3, 9, 100), 30); // 12 workgroups → grid [4, 3]
  });

  it('refuses a cap that is not finite and > 0, and a too-small binding, naming them', async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 16, 'b');
    const enc = ctx.device.createCommandEncoder();
    for (const cap of [0, -1, Number.NaN, Infinity, 1e-60]) expect(() => softcapInPlace(ctx, enc, { n: 4, cap, x: b })).toThrow(/softcap: softcap = .*; expected a finite number > 0/);
    expect(() => softcapInPlace(ctx, enc, { n: 5, cap: 30, x: b })).toThrow(/softcap: x \[n=5\] f32 needs 20 bytes/);
    enc.finish();
  });
});
