import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, maxAbsDiff, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { attentionBackward, attentionForward, attentionVariant, type AttentionSmallRows, type AttentionVariant } from '../../src/engine/kernels/attention';
import { attentionBackwardRef, attentionForwardRef } from '../../src/engine/reference/attention';

/**
 * [B, T, H, KV, D]: T not a multiple of the 16-row tile, GQA ratios 1–4, head dims 4–128; both variants
 * for the first four shapes (D ≤ 32). The 'small' variant runs one thread per 4 consecutive rows (the last block of
 * each (b, head) clamped when T is not a multiple of 4), 64 threads per workgroup over B·H·ceil(T/4) (and
 * B·KV·ceil(T/4)) blocks: T = 1, 3 and 5 (one partial block), T mod 4 = 1, 2, 3 and 0, and 2·4·16 = 128 / 2·2·16 = 64
 * (T 62), 1·5·13 = 65 (T 51) and 1·3·21 = 63 (T 83) blocks hit the exact, one-over and one-short workgroup edges.
 */
const SHAPES: ReadonlyArray<readonly [number, number, number, number, number]> = [
  [2, 1, 2, 1, 8],
  [2, 5, 4, 2, 16],
  [2, 19, 6, 2, 32],
  [1, 19, 3, 3, 8],
  [2, 16, 2, 2, 4],
  [1, 21, 3, 1, 12],
  [1, 65, 2, 1, 8],
  [1, 3, 2, 1, 8],
  [2, 62, 4, 2, 8],
  [1, 51, 5, 5, 8],
  [1, 83, 3, 1, 16],
  [1, 37, 4, 1, 64],
  [1, 21, 2, 2, 128],
];
/** Shapes the tiled kernel also runs at (each new D costs the tiled pipelines tens of seconds to compile on lavapipe). */
const TILED_TOO = new Set([0, 1, 2, 3]);
/** Rows per thread tried besides the default (1 is the one-row kernel the bench compares against), at these shapes. */
const OTHER_ROWS = [1, 2, 3] as const;
const OTHER_ROWS_SHAPES = new Set([3, 10]);
type Case = readonly [number, number, number, number, number, AttentionVariant, AttentionSmallRows | undefined];
const CASES: Case[] = SHAPES.flatMap((s, i) => [
  ...(s[4] > 32 ? (['tiled'] as const) : TILED_TOO.has(i) ? (['small', 'tiled'] as const) : (['small'] as const)).map((v): Case => [...s, v, undefined]),
  ...(OTHER_ROWS_SHAPES.has(i) ? OTHER_ROWS.map((r): Case => [...s, 'small', r]) : []),
]);

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

describe('attention (causal, GQA)', () => {
  it.each(CASES)('forward and backward match the f64 reference at B=%i T=%i H=%i KV=%i D=%i (%s, rows %s)', async (B, T, H, KV, D, variant, smallRows) => {
    const ctx = await testGpu();
    const shape = { B, T, H, KV, D, scale: 1 / Math.sqrt(D), variant, smallRows };
    const seed = B * 1000 + T * 100 + H * 10 + D;
    const q = randomF32(B * T * H * D, seed + 1, 2);
    const k = randomF32(B * T * KV * D, seed + 2, 2);
    const v = randomF32(B * T * KV * D, seed + 3);
    const dout = randomF32(B * T * H * D, seed + 4);
    const qb = uploadStorage(ctx, q, 'q');
    const kb = uploadStorage(ctx, k, 'k');
    const vb = uploadStorage(ctx, v, 'v');
    const doutb = uploadStorage(ctx, dout, 'dout');
    const out = createStorage(ctx, q.byteLength, 'out');
    const lse = createStorage(ctx, B * H * T * 4, 'lse');
    // Gradient buffers start with garbage: the kernels must overwrite, not accumulate.
    const dq = uploadStorage(ctx, randomF32(q.length, 7, 100), 'dq');
    const dk = uploadStorage(ctx, randomF32(k.length, 8, 100), 'dk');
    const dv = uploadStorage(ctx, randomF32(v.length, 9, 100), 'dv');
    const enc = ctx.device.createCommandEncoder();
    attentionForward(ctx, enc, { ...shape, q: qb, k: kb, v: vb, out, lse });
    attentionBackward(ctx, enc, { ...shape, q: qb, k: kb, v: vb, out, lse, dout: doutb, dq, dk, dv });
    await submitAndWait(ctx, [enc.finish()]);
    const first = await readF32(ctx, dk);
    // Run to run the kernels must give the same bits (no atomics, fixed summation order).
    const enc2 = ctx.device.createCommandEncoder();
    attentionBackward(ctx, enc2, { ...shape, q: qb, k: kb, v: vb, out, lse, dout: doutb, dq, dk, dv });
    await submitAndWait(ctx, [enc2.finish()]);
    expect(Array.from(await readF32(ctx, dk))).toEqual(Array.from(first));

    const ref = attentionForwardRef(shape, q, k, v);
    const grads = attentionBackwardRef(shape, q, k, v, dout);
    const got = {
      out: await readF32(ctx, out),
      lse: await readF32(ctx, lse),
      dq: await readF32(ctx, dq),
      dk: await readF32(ctx, dk),
      dv: await readF32(ctx, dv),
    };
    const want = { out: ref.out, lse: ref.lse, dq: grads.dq, dk: grads.dk, dv: grads.dv };
    for (const name of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
      const w = want[name];
      const scale = Math.max(1, maxAbs(w));
      if (process.env.ATTN_VERBOSE) console.log(name, B, T, H, KV, D, maxAbsDiff(got[name], w).max / scale);
      expectClose(got[name], w, 1e-5 * scale, 1e-5, `attention ${name} B=${B} T=${T} H=${H} KV=${KV} D=${D}`);
    }
    for (const b of [qb, kb, vb, doutb, out, lse, dq, dk, dv]) b.destroy();
  });

  it('gives the same bits at 1, 2, 3 and 4 rows per thread (masked terms add exact zeros)', async () => {
    const ctx = await testGpu();
    const [B, T, H, KV, D] = [2, 23, 4, 2, 8];
    const shape = { B, T, H, KV, D, scale: 1 / Math.sqrt(D), variant: 'small' as const };
    const up = (n: number, seed: number, label: string) => uploadStorage(ctx, randomF32(n, seed, 2), label);
    const [q, k, v, dout] = [up(B * T * H * D, 1, 'q'), up(B * T * KV * D, 2, 'k'), up(B * T * KV * D, 3, 'v'), up(B * T * H * D, 4, 'dout')];
    const results: number[][] = [];
    for (const smallRows of [1, 2, 3, 4] as const) {
      const out = createStorage(ctx, B * T * H * D * 4, 'out');
      const lse = createStorage(ctx, B * H * T * 4, 'lse');
      const [dq, dk, dv] = [createStorage(ctx, B * T * H * D * 4, 'dq'), createStorage(ctx, B * T * KV * D * 4, 'dk'), createStorage(ctx, B * T * KV * D * 4, 'dv')];
      const enc = ctx.device.createCommandEncoder();
      attentionForward(ctx, enc, { ...shape, smallRows, q, k, v, out, lse });
      attentionBackward(ctx, enc, { ...shape, smallRows, q, k, v, out, lse, dout, dq, dk, dv });
      await submitAndWait(ctx, [enc.finish()]);
      const all: number[] = [];
      for (const b of [out, lse, dq, dk, dv]) all.push(...(await readF32(ctx, b)));
      results.push(all);
    }
    for (const r of results.slice(1)) expect(r).toEqual(results[0]);
  });

  it('rejects H not a multiple of KV and an unsupported head dim', async () => {
    const ctx = await testGpu();
    const buf = createStorage(ctx, 4096, 'x');
    const enc = ctx.device.createCommandEncoder();
    const base = { B: 1, T: 2, scale: 1, q: buf, k: buf, v: buf, out: buf, lse: buf };
    expect(() => attentionForward(ctx, enc, { ...base, H: 3, KV: 2, D: 8 })).toThrow(/multiple of KV/);
    expect(() => attentionForward(ctx, enc, { ...base, H: 2, KV: 1, D: 6 })).toThrow(/head dim D = 6/);
    expect(() => attentionForward(ctx, enc, { ...base, H: 2, KV: 1, D: 260, T: 1 })).toThrow(/≤ 256/);
    expect(() => attentionForward(ctx, enc, { ...base, H: 2, KV: 1, D: 64, variant: 'small' })).toThrow(/'small' variant needs head dim D ≤ 32/);
    expect(() => attentionForward(ctx, enc, { ...base, H: 2, KV: 1, D: 8, smallRows: 5 as unknown as AttentionSmallRows })).toThrow(/smallRows must be 1, 2, 3 or 4, got 5/);
    buf.destroy();
  });

  it('picks the barrier-free variant for small head dims and the tiled one for real models', () => {
    expect([4, 8, 32, 64, 128].map(attentionVariant)).toEqual(['small', 'small', 'small', 'tiled', 'tiled']);
  });
});
