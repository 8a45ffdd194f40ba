/**
 * One-query decode attention over a KV cache (kernels/attentionDecode.ts) against the f64 causal reference: the
 * decode output for n keys is the reference's last row (query n−1) when the query is placed at row n−1.
 * Shapes hit n = 1, n one short / one over the 64-thread stride, GQA ratios 1–4 and D from 8 to 256; the cache holds
 * more rows (maxT) than n, filled with garbage that must be ignored. Sliding windows (rows n−W..n−1 only: W = 1,
 * W < n across the 64-thread stride, W ≥ n) and a soft-cap use the same reference with the same options.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { attentionDecode } from '../../src/engine/kernels/attentionDecode';
import { attentionForwardRef } from '../../src/engine/reference/attention';

/** [n, maxT, H, KV, D, window, softcap] */
const SHAPES: ReadonlyArray<readonly [number, number, number, number, number, number | undefined, number | undefined]> = [
  [1, 4, 2, 1, 8, undefined, undefined],
  [63, 70, 4, 2, 16, undefined, undefined],
  [65, 65, 6, 2, 12, undefined, undefined],
  [130, 140, 4, 1, 8, undefined, undefined],
  [37, 50, 3, 3, 128, undefined, undefined],
  [37, 50, 4, 1, 256, undefined, undefined], // Gemma 3 270M heads
  [130, 140, 4, 1, 256, 70, undefined], // sliding layer: window across the 64-thread stride
  [130, 140, 4, 1, 8, 1, undefined], // W = 1: the new token's own value
  [63, 70, 4, 2, 16, 9, 0.9], // window and soft-cap
  [65, 65, 6, 2, 12, 65, undefined], // W = n: all rows
  [65, 65, 6, 2, 12, undefined, 0.9],
];

describe('attention.decode', () => {
  it.each(SHAPES)('matches the reference row n−1 at n=%i maxT=%i H=%i KV=%i D=%i window=%s softcap=%s', async (n, maxT, H, KV, D, window, softcap) => {
    const ctx = await testGpu();
    const seed = n * 31 + D;
    const kAll = randomF32(maxT * KV * D, seed + 1, 2);
    const vAll = randomF32(maxT * KV * D, seed + 2);
    const q = randomF32(H * D, seed + 3, 2);
    // Reference: a causal sequence of n rows whose last query is q (earlier queries are irrelevant to row n−1).
    const qSeq = new Float32Array(n * H * D);
    qSeq.set(q, (n - 1) * H * D);
    const ref = attentionForwardRef({ B: 1, T: n, H, KV, D, scale: 1 / Math.sqrt(D), window, softcap }, qSeq, kAll.subarray(0, n * KV * D), vAll.subarray(0, n * KV * D)).out.subarray((n - 1) * H * D);
    const out = createStorage(ctx, H * D * 4, 'out');
    const scores = uploadStorage(ctx, randomF32(H * maxT, 5, 100), 'scores');
    const bufs = [uploadStorage(ctx, q, 'q'), uploadStorage(ctx, kAll, 'kc'), uploadStorage(ctx, vAll, 'vc')] as const;
    const enc = ctx.device.createCommandEncoder();
    attentionDecode(ctx, enc, { n, maxT, H, KV, D, scale: 1 / Math.sqrt(D), window, softcap, q: bufs[0], kCache: bufs[1], vCache: bufs[2], out, scores });
    await submitAndWait(ctx, [enc.finish()]);
    expectClose(await readF32(ctx, out), ref, 2e-6, 2e-5, 'out');
    [out, scores, ...bufs].forEach((b) => b.destroy());
  });

  it('rejects n outside [1, maxT], a head dim that is not a multiple of 4 or above 256, a bad window or soft-cap', async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 4096, 'x');
    const enc = ctx.device.createCommandEncoder();
    const base = { maxT: 4, H: 2, KV: 1, D: 8, scale: 1, q: b, kCache: b, vCache: b, out: b, scores: b };
    expect(() => attentionDecode(ctx, enc, { ...base, n: 5 })).toThrow(/n = 5 keys/);
    expect(() => attentionDecode(ctx, enc, { ...base, n: 0 })).toThrow(/n = 0/);
    expect(() => attentionDecode(ctx, enc, { ...base, n: 2, D: 6 })).toThrow(/multiple of 4/);
    expect(() => attentionDecode(ctx, enc, { ...base, n: 2, D: 260 })).toThrow(/≤ 256/);
    expect(() => attentionDecode(ctx, enc, { ...base, n: 2, window: -3 })).toThrow(/window must be a non-negative integer \(0 = full causal\), got -3/);
    expect(() => attentionDecode(ctx, enc, { ...base, n: 2, softcap: Number.NaN })).toThrow(/softcap must be finite and ≥ 0/);
    enc.finish();
    b.destroy();
  });
});
