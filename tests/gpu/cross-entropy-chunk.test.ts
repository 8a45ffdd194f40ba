/**
 * shaders/cross_entropy_chunk.wgsl against the f64 references: the per-row loss after all chunks must equal torch
 * cross_entropy over the full row (reference/crossEntropy.ts), the lse the chunked f64 reference, and each chunk's
 * dlogits the full-row softmax − onehot (times gradScale). Chunk widths below, equal to and not multiples of the
 * 256-thread workgroup; ignored and out-of-range targets. With a softcap (Gemma final_logit_softcapping) the same
 * against the full-row references on capped logits, the gradient chained through the cap (reference/softcap.ts).
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait } from '../../src/engine/gpu/context';
import { CE_STATS_PER_ROW, crossEntropyChunkBackward, crossEntropyChunkForward, crossEntropyChunkVariant, type CrossEntropyChunkVariant } from '../../src/engine/kernels/crossEntropyChunk';
import { IGNORE_INDEX } from '../../src/io/tokenizer/labels';
import { crossEntropyBackwardRef, crossEntropyRef } from '../../src/engine/reference/crossEntropy';
import { crossEntropyChunkedRef } from '../../src/engine/reference/crossEntropyChunk';
import { softcapBackwardRef, softcapRef } from '../../src/engine/reference/softcap';

/** Columns [v0, v0 + Vc) of a row-major [M, V] matrix. */
function columns(x: ArrayLike<number>, M: number, V: number, v0: number, Vc: number): Float32Array {
  const out = new Float32Array(M * Vc);
  for (let m = 0; m < M; m++) for (let i = 0; i < Vc; i++) out[m * Vc + i] = x[m * V + v0 + i] as number;
  return out;
}

/** Runs pass 1 over all chunks, then pass 2 on every chunk; returns losses, stats and the dlogits [M, V]. */
async function run(M: number, V: number, Vc: number, logits: Float32Array, targets: Int32Array, gradScale: number, variant?: CrossEntropyChunkVariant, softcap?: number, rowScale?: Float32Array) {
  const ctx = await testGpu();
  const tb = uploadStorage(ctx, targets, 'targets');
  const stats = createStorage(ctx, M * CE_STATS_PER_ROW * 4, 'stats');
  const losses = uploadStorage(ctx, new Float32Array(M).fill(123), 'losses');
  const chunks: { v0: number; Vc: number; buf: GPUBuffer }[] = [];
  for (let v0 = 0; v0 < V; v0 += Vc) {
    const w = Math.min(Vc, V - v0);
    chunks.push({ v0, Vc: w, buf: uploadStorage(ctx, columns(logits, M, V, v0, w), `chunk${v0}`) });
  }
  const enc = ctx.device.createCommandEncoder();
  const cap = softcap === undefined ? {} : { softcap };
  const rs = rowScale ? { rowScale: uploadStorage(ctx, rowScale, 'rowScale') } : {};
  chunks.forEach((c, k) => crossEntropyChunkForward(ctx, enc, { M, V, v0: c.v0, Vc: c.Vc, logits: c.buf, targets: tb, stats, losses, first: k === 0, last: k === chunks.length - 1, variant, ...cap }));
  for (const c of chunks) crossEntropyChunkBackward(ctx, enc, { M, V, v0: c.v0, Vc: c.Vc, logits: c.buf, targets: tb, stats, losses, gradScale, ...cap, ...rs });
  await submitAndWait(ctx, [enc.finish()]);
  const d = new Float32Array(M * V);
  for (const c of chunks) {
    const g = await readF32(ctx, c.buf);
    for (let m = 0; m < M; m++) d.set(g.subarray(m * c.Vc, (m + 1) * c.Vc), m * V + c.v0);
  }
  const res = { losses: await readF32(ctx, losses), stats: await readF32(ctx, stats), dlogits: d };
  for (const b of [tb, stats, losses, ...chunks.map((c) => c.buf), ...(rs.rowScale ? [rs.rowScale] : [])]) b.destroy();
  return res;
}

function makeTargets(M: number, V: number): Int32Array {
  return Int32Array.from({ length: M }, (_, m) => (m % 4 === 1 ? IGNORE_INDEX : m === 0 ? V - 1 : m === 2 ? 0 : (m * 7919) % V));
}

describe('crossEntropyChunk (online log-sum-exp over vocabulary chunks)', () => {
  // The 'row' pass 1 runs 64 rows per workgroup: M = 63, 64, 65 are its edges.
  const shapes: ReadonlyArray<readonly [number, number, number, number]> = [
    [7, 257, 64, 4],
    [3, 5000, 1024, 6],
    [5, 300, 7, 30],
    [2, 600, 600, 2],
    [6, 1000, 333, 1],
    [63, 129, 50, 3],
    [64, 40, 40, 2],
    [65, 77, 30, 5],
  ];
  it.each((['row', 'workgroup'] as const).flatMap((variant) => shapes.map(([M, V, Vc, scale]) => [M, V, Vc, scale, variant] as const)))('M=%i V=%i Vc=%i (logit scale %f, %s): loss = full-row cross-entropy, dlogits = softmax − onehot', async (M, V, Vc, scale, variant) => {
    const logits = randomF32(M * V, V + M + Vc, scale);
    const targets = makeTargets(M, V);
    const gradScale = 1 / Math.max(1, targets.filter((t) => t !== IGNORE_INDEX).length);
    const r = await run(M, V, Vc, logits, targets, gradScale, variant);
    const lossTol = 1e-5 * Math.max(1, Math.log(V) + 2 * scale);
    expectClose(r.losses, crossEntropyRef(M, V, logits, targets), lossTol, 1e-5, `loss M=${M} V=${V} Vc=${Vc}`);
    const { lse } = crossEntropyChunkedRef(M, V, Vc, logits, targets);
    const gotLse = Array.from({ length: M }, (_, m) => (targets[m] === IGNORE_INDEX ? 0 : (r.stats[m * CE_STATS_PER_ROW + 3] as number)));
    expectClose(gotLse, lse, lossTol, 1e-6, `lse M=${M} V=${V} Vc=${Vc}`);
    expectClose(r.dlogits, crossEntropyBackwardRef(M, V, logits, targets, gradScale), 1e-6 * gradScale, 1e-5, `dlogits M=${M} V=${V} Vc=${Vc}`);
  });

  // Softcap: raw logits up to ±scale, capped to ±cap; the gradient is d(loss of capped logits)/d(raw logits).
  const capShapes: ReadonlyArray<readonly [number, number, number, number, number]> = [[37, 300, 128, 60, 30], [7, 257, 64, 100, 15], [65, 77, 30, 5, 2], [3, 1000, 1000, 40, 50]];
  it.each((['row', 'workgroup'] as const).flatMap((variant) => capShapes.map((sh) => [...sh, variant] as const)))('softcap: M=%i V=%i Vc=%i (raw logit scale %f, cap %f, %s): loss and dlogits through cap·tanh(z/cap)', async (M, V, Vc, scale, cap, variant) => {
    const logits = randomF32(M * V, 3 * V + M, scale);
    const targets = makeTargets(M, V);
    const gradScale = 1 / Math.max(1, targets.filter((t) => t !== IGNORE_INDEX).length);
    const r = await run(M, V, Vc, logits, targets, gradScale, variant, cap);
    const capped = softcapRef(logits, cap);
    const lossTol = 1e-5 * Math.max(1, Math.log(V) + 2 * cap);
    expectClose(r.losses, crossEntropyRef(M, V, capped, targets), lossTol, 1e-5, `capped loss M=${M} V=${V} Vc=${Vc}`);
    const { lse } = crossEntropyChunkedRef(M, V, Vc, logits, targets, cap);
    const gotLse = Array.from({ length: M }, (_, m) => (targets[m] === IGNORE_INDEX ? 0 : (r.stats[m * CE_STATS_PER_ROW + 3] as number)));
    expectClose(gotLse, lse, lossTol, 1e-6, `capped lse M=${M} V=${V} Vc=${Vc}`);
    const want = softcapBackwardRef(logits, crossEntropyBackwardRef(M, V, capped, targets, gradScale), cap);
    expectClose(r.dlogits, want, 1e-6 * gradScale, 1e-5, `capped dlogits M=${M} V=${V} Vc=${Vc}`);
  });

  // Per-row scale (DPO: d loss / d NLL differs per sequence): row m's dlogits × rowScale[m], signs of both kinds.
  it.each([[37, 300, 128, undefined], [65, 77, 30, undefined], [7, 257, 64, 15]] as const)('per-row scale: M=%i V=%i Vc=%i (softcap %s): dlogits = reference rows × rowScale[m]', async (M, V, Vc, cap) => {
    const logits = randomF32(M * V, 5 * V + M, 4);
    const targets = makeTargets(M, V);
    const rowScale = Float32Array.from({ length: M }, (_, m) => (m % 3 === 0 ? -0.03 * (m + 1) : 0.5 + m / 7));
    const gradScale = 0.75;
    const r = await run(M, V, Vc, logits, targets, gradScale, undefined, cap, rowScale);
    const capped = cap === undefined ? logits : softcapRef(logits, cap);
    const full = crossEntropyBackwardRef(M, V, capped, targets, gradScale);
    const scaled = cap === undefined ? full : softcapBackwardRef(logits, full, cap);
    const want = Float64Array.from(scaled, (g, i) => g * (rowScale[Math.floor(i / V)] as number));
    expectClose(r.dlogits, want, 1e-6, 1e-5, `row-scaled dlogits M=${M} V=${V} Vc=${Vc}`);
  });

  it('picks one thread per row up to chunks of 1024 and a workgroup per row above', () => {
    expect([1, 512, 1024, 1025, 16384].map(crossEntropyChunkVariant)).toEqual(['row', 'row', 'row', 'workgroup', 'workgroup']);
  });

  it.each(['row', 'workgroup'] as const)('an out-of-range target gives loss −1 and a zero gradient row; an ignored one 0 and zeros (%s)', async (variant) => {
    const [M, V] = [3, 10];
    const logits = randomF32(M * V, 5);
    const r = await run(M, V, 4, logits, Int32Array.from([2, 10, IGNORE_INDEX]), 0.5, variant);
    // `+ 0` maps −0 to +0: lavapipe stores the ignored row's 0 as −0, which is the same loss.
    expect(Array.from(r.losses.subarray(1), (v) => v + 0)).toEqual([-1, 0]);
    expect(Array.from(r.dlogits.subarray(V))).toEqual(new Array(2 * V).fill(0));
  });

  it('names the argument when a chunk leaves the vocabulary or a binding is too small', async () => {
    const ctx = await testGpu();
    const b = createStorage(ctx, 64, 'b');
    const enc = ctx.device.createCommandEncoder();
    const args = { M: 2, V: 10, v0: 8, Vc: 4, logits: b, targets: b, stats: b, losses: b, first: true, last: true };
    expect(() => crossEntropyChunkForward(ctx, enc, args)).toThrow(/chunk rows \[8, 12\) exceed the vocabulary V=10/);
    expect(() => crossEntropyChunkForward(ctx, enc, { ...args, v0: 0, Vc: 10 })).toThrow(/logits \[M=2, Vc=10\] f32 needs 80 bytes/);
    for (const softcap of [0, -30, Number.NaN, Infinity]) {
      expect(() => crossEntropyChunkBackward(ctx, enc, { ...args, v0: 0, Vc: 2, gradScale: 1, softcap })).toThrow(/softcap = .*; expected a finite number > 0/);
    }
    enc.finish();
  });
});
