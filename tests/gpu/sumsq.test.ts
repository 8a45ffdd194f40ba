import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { sumOfSquares, sumValues } from '../../src/engine/kernels/sumsq';

describe('sumOfSquares', () => {
  // 1_050_001 > 4096 workgroups × 256 threads, so threads stride over several elements.
  it.each([1, 255, 257, 100_003, 1_050_001])('matches an f64 sum at n=%i and is deterministic', async (n) => {
    const ctx = await testGpu();
    const x = randomF32(n, n, 2);
    let want = 0;
    for (const v of x) want += v * v;
    const xb = uploadStorage(ctx, x, 'x');
    const out = createStorage(ctx, 8, 'out');
    const results: number[] = [];
    for (let rep = 0; rep < 2; rep++) {
      const enc = ctx.device.createCommandEncoder();
      sumOfSquares(ctx, enc, { n, x: xb, out });
      await submitAndWait(ctx, [enc.finish()]);
      results.push((await readF32(ctx, out, 0, 1))[0] as number);
    }
    expect(Math.abs((results[0] as number) - want)).toBeLessThanOrEqual(1e-30 + 1e-6 * want);
    expect(results[1]).toBe(results[0]);
    xb.destroy();
    out.destroy();
  });

  it('sums only the first n values of a larger buffer', async () => {
    const ctx = await testGpu();
    const x = Float32Array.from({ length: 300 }, (_, i) => (i < 257 ? 0.5 : 1000));
    const xb = uploadStorage(ctx, x, 'x');
    const out = createStorage(ctx, 4, 'out');
    const enc = ctx.device.createCommandEncoder();
    sumOfSquares(ctx, enc, { n: 257, x: xb, out });
    await submitAndWait(ctx, [enc.finish()]);
    expect((await readF32(ctx, out))[0]).toBe(257 * 0.25);
  });
});

describe('sumValues', () => {
  it.each([1, 257, 100_003, 1_050_001])('matches an f64 sum of signed values at n=%i, accumulates, and is deterministic', async (n) => {
    const ctx = await testGpu();
    const x = randomF32(n, n + 7, 2);
    let want = 0;
    let scale = 0;
    for (const v of x) {
      want += v;
      scale += Math.abs(v);
    }
    const xb = uploadStorage(ctx, x, 'x');
    const out = createStorage(ctx, 4, 'out');
    const results: number[] = [];
    for (let rep = 0; rep < 2; rep++) {
      const enc = ctx.device.createCommandEncoder();
      sumValues(ctx, enc, { n, x: xb, out });
      await submitAndWait(ctx, [enc.finish()]);
      results.push((await readF32(ctx, out, 0, 1))[0] as number);
    }
    expect(Math.abs((results[0] as number) - want)).toBeLessThanOrEqual(1e-6 * scale);
    expect(results[1]).toBe(results[0]);
    const enc = ctx.device.createCommandEncoder();
    sumValues(ctx, enc, { n, x: xb, out, accumulate: true });
    await submitAndWait(ctx, [enc.finish()]);
    expect(Math.abs(((await readF32(ctx, out, 0, 1))[0] as number) - 2 * want)).toBeLessThanOrEqual(2e-6 * scale);
    xb.destroy();
    out.destroy();
  });
});
