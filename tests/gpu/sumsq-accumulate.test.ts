/**
 * sumOfSquares with `accumulate` (the LoRA gradient norm over several buffer parts): out[0] += Σx² of each part, in
 * call order, equals the f64 sum over all parts; without accumulate, out[0] is overwritten.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { randomF32 } from './compare';
import { readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { sumOfSquares } from '../../src/engine/kernels/sumsq';

describe('sumOfSquares accumulate', () => {
  it('adds the sums of three parts into out[0] and matches the f64 total', async () => {
    const ctx = await testGpu();
    const parts = [1000, 70_001, 5].map((n, k) => randomF32(n, 11 + k, 1 + k));
    let want = 0;
    for (const p of parts) for (const v of p) want += v * v;
    const out = uploadStorage(ctx, new Float32Array([123]), 'out');
    const enc = ctx.device.createCommandEncoder();
    parts.forEach((p, k) => sumOfSquares(ctx, enc, { n: p.length, x: uploadStorage(ctx, p, `part${k}`), out, accumulate: k > 0 }));
    await submitAndWait(ctx, [enc.finish()]);
    const got = (await readF32(ctx, out, 0, 1))[0] as number;
    expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-6 * want);
  });
});
