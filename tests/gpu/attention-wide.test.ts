/**
 * Attention at head dims above 128 (Gemma 3 270M / 1B: D = 256, H = 4, KV = 1): the 'tiled' kernels with 8-row
 * tiles and 8 threads per row (10 KiB of workgroup memory at D = 256), forward and backward against the f64
 * reference (tests/gpu/attentionCheck.ts), at T not a multiple of the 8-row tile, with and without a window
 * (a uniform: the same pipelines), MQA and plain multi-head. D = 160 checks a head dim whose lanes per thread
 * (20) are not a power of two. Small T: each new D costs minutes of pipeline compilation on lavapipe.
 */
import { describe, expect, it } from 'vitest';
import { checkAttention } from './attentionCheck';
import { testGpu } from './device';
import { createStorage } from '../../src/engine/gpu/buffers';
import { attentionBackward, attentionForward } from '../../src/engine/kernels/attention';

/** [B, T, H, KV, D, window] */
const CASES: ReadonlyArray<readonly [number, number, number, number, number, number | undefined]> = [
  [1, 21, 4, 1, 256, undefined], // Gemma 3 270M heads
  [1, 21, 4, 1, 256, 6], // sliding layer, window < tile … a few tiles
  [2, 13, 2, 2, 256, 1],
  [1, 19, 3, 1, 160, 9],
];

describe('attention with head dim above 128', () => {
  it.each(CASES)('forward and backward match the f64 reference at B=%i T=%i H=%i KV=%i D=%i window=%s', async (B, T, H, KV, D, window) => {
    await checkAttention({ B, T, H, KV, D, scale: 1 / Math.sqrt(D), window });
  });

  it('rejects D above 256, D above 128 not a multiple of 8, and a bad window or soft-cap', async () => {
    const ctx = await testGpu();
    const buf = createStorage(ctx, 1 << 16, 'x');
    const enc = ctx.device.createCommandEncoder();
    const base = { B: 1, T: 2, H: 2, KV: 1, scale: 1, q: buf, k: buf, v: buf, out: buf, lse: buf };
    expect(() => attentionForward(ctx, enc, { ...base, D: 264 })).toThrow(/head dim D = 264 must be a multiple of 4 and ≤ 256/);
    expect(() => attentionForward(ctx, enc, { ...base, D: 132 })).toThrow(/head dim D = 132 above 128 must be a multiple of 8/);
    expect(() => attentionForward(ctx, enc, { ...base, D: 8, window: -1 })).toThrow(/window must be a non-negative integer \(0 = full causal\), got -1/);
    expect(() => attentionForward(ctx, enc, { ...base, D: 8, window: 2.5 })).toThrow(/window must be a non-negative integer/);
    const grads = { dout: buf, dq: buf, dk: buf, dv: buf };
    expect(() => attentionBackward(ctx, enc, { ...base, ...grads, D: 8, softcap: -1 })).toThrow(/softcap must be finite and ≥ 0 \(0 = none\), got -1/);
    expect(() => attentionBackward(ctx, enc, { ...base, ...grads, D: 8, softcap: Infinity })).toThrow(/softcap must be finite/);
    buf.destroy();
  });
});
