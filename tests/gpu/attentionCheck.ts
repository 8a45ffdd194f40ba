/**
 * Shared check of the attention kernels with a sliding window, a soft-cap or a wide head dim
 * (tests/gpu/attention-window.test.ts, attention-wide.test.ts): forward and backward on random inputs against the
 * f64 CPU reference (|gpu − ref| ≤ atol + rtol·|ref|, atol scaled by max |ref|), and two runs of the backward
 * agree bit for bit (no atomics, fixed summation order).
 */
import { expect } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { attentionBackward, attentionForward, type AttentionShape } from '../../src/engine/kernels/attention';
import { attentionBackwardRef, attentionForwardRef } from '../../src/engine/reference/attention';

/** Every output of one forward + backward: out, lse, dq, dk, dv as read back. */
export type AttentionOutputs = Record<'out' | 'lse' | 'dq' | 'dk' | 'dv', Float32Array>;

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/** Random q, k (scale 2), v, dout of a shape, seeded by the shape (f32, as the GPU gets them). */
export function attentionInputs(s: AttentionShape): { q: Float32Array; k: Float32Array; v: Float32Array; dout: Float32Array } {
  const { B, T, H, KV, D } = s;
  const seed = B * 1000 + T * 100 + H * 10 + D;
  return { q: randomF32(B * T * H * D, seed + 1, 2), k: randomF32(B * T * KV * D, seed + 2, 2), v: randomF32(B * T * KV * D, seed + 3), dout: randomF32(B * T * H * D, seed + 4) };
}

/**
 * Runs the forward and the backward of `s` on {@link attentionInputs}; gradient buffers start with garbage (the
 * kernels must overwrite). With `twice`, runs the backward again and asserts the same dk, dv bits.
 */
export async function runAttention(s: AttentionShape, twice = false): Promise<AttentionOutputs> {
  const ctx = await testGpu();
  const { B, T, H, KV, D } = s;
  const x = attentionInputs(s);
  const [q, k, v, dout] = [uploadStorage(ctx, x.q, 'q'), uploadStorage(ctx, x.k, 'k'), uploadStorage(ctx, x.v, 'v'), uploadStorage(ctx, x.dout, 'dout')];
  const out = createStorage(ctx, B * T * H * D * 4, 'out');
  const lse = createStorage(ctx, B * H * T * 4, 'lse');
  const dq = uploadStorage(ctx, randomF32(B * T * H * D, 7, 100), 'dq');
  const dk = uploadStorage(ctx, randomF32(B * T * KV * D, 8, 100), 'dk');
  const dv = uploadStorage(ctx, randomF32(B * T * KV * D, 9, 100), 'dv');
  const enc = ctx.device.createCommandEncoder();
  attentionForward(ctx, enc, { ...s, q, k, v, out, lse });
  attentionBackward(ctx, enc, { ...s, q, k, v, out, lse, dout, dq, dk, dv });
  await submitAndWait(ctx, [enc.finish()]);
  const got: AttentionOutputs = { out: await readF32(ctx, out), lse: await readF32(ctx, lse), dq: await readF32(ctx, dq), dk: await readF32(ctx, dk), dv: await readF32(ctx, dv) };
  if (twice) {
    const enc2 = ctx.device.createCommandEncoder();
    attentionBackward(ctx, enc2, { ...s, q, k, v, out, lse, dout, dq, dk, dv });
    await submitAndWait(ctx, [enc2.finish()]);
    expect(Array.from(await readF32(ctx, dk)), 'dk run to run').toEqual(Array.from(got.dk));
    expect(Array.from(await readF32(ctx, dv)), 'dv run to run').toEqual(Array.from(got.dv));
  }
  for (const b of [q, k, v, dout, out, lse, dq, dk, dv]) b.destroy();
  return got;
}

/**
 * Asserts the GPU outputs of `s` match the f64 reference within atol = tol·max(1, max |ref|) and rtol = tol, and
 * that the backward is deterministic. @returns the GPU outputs.
 */
export async function checkAttention(s: AttentionShape, tol = 1e-5): Promise<AttentionOutputs> {
  const got = await runAttention(s, true);
  const x = attentionInputs(s);
  const ref = attentionForwardRef(s, x.q, x.k, x.v);
  const grads = attentionBackwardRef(s, x.q, x.k, x.v, x.dout);
  const want = { out: ref.out, lse: ref.lse, dq: grads.dq, dk: grads.dk, dv: grads.dv };
  const what = `B=${s.B} T=${s.T} H=${s.H} KV=${s.KV} D=${s.D} window=${s.window} softcap=${s.softcap} ${s.variant ?? 'default'}`;
  for (const name of ['out', 'lse', 'dq', 'dk', 'dv'] as const) {
    const scale = Math.max(1, maxAbs(want[name]));
    expectClose(got[name], want[name], tol * scale, tol, `attention ${name} ${what}`);
  }
  return got;
}
