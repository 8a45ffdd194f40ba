/**
 * The vocabulary-chunked loss head (model/head.ts) and the split embedding table (model/vocabTable.ts) on a device
 * whose buffers are limited to 12 KiB, so E [300, 40] BF16 (24 000 bytes) is stored as 3 row chunks and the head
 * walks 6 compute chunks (sub-ranges at aligned offsets). Compared with f64 CPU references: loss, lse and dH
 * (reference/crossEntropyChunk.ts lmHeadRef), the logits read back chunk by chunk, and the embedding lookup; with a
 * softcap (Gemma final_logit_softcapping) the same against the capped references.
 */
import { describe, expect, it } from 'vitest';
import { testGpu } from './device';
import { expectClose, randomF32 } from './compare';
import { createStorage, readF32, uploadStorage } from '../../src/engine/gpu/buffers';
import { submitAndWait, type GpuContext } from '../../src/engine/gpu/context';
import { CE_STATS_PER_ROW } from '../../src/engine/kernels/crossEntropyChunk';
import { IGNORE_INDEX } from '../../src/io/tokenizer/labels';
import { embeddingForward } from '../../src/engine/kernels/embedding';
import { readLogits, recordHeadBackward, recordHeadLoss, type HeadBuffers } from '../../src/engine/model/head';
import { vocabChunkRows } from '../../src/engine/model/vocabChunks';
import { uploadVocabTable, vocabSlices } from '../../src/engine/model/vocabTable';
import { embeddingRef } from '../../src/engine/reference/embedding';
import { lmHeadRef } from '../../src/engine/reference/crossEntropyChunk';
import { softcapRef } from '../../src/engine/reference/softcap';
import { decodeToF32, encodeFromF32 } from '../../src/io/dtype';

const [V, C] = [300, 40];

async function limited(): Promise<GpuContext> {
  const real = await testGpu();
  return { ...real, limits: { ...real.limits, maxBufferSize: 12 * 1024, maxStorageBufferBindingSize: 12 * 1024 } };
}

function table() {
  const bytes = encodeFromF32(randomF32(V * C, 7, 0.5), 'BF16');
  return { bytes, values: decodeToF32(bytes, 'BF16') };
}

describe('vocabulary table split into row chunks', () => {
  it('stores E as 3 buffers within the limit, and the embedding lookup over the chunks equals the f64 reference', async () => {
    const ctx = await limited();
    const E = table();
    const t = uploadVocabTable(ctx, E.bytes, 'BF16', V, C, 'embed_tokens', 112);
    expect(t.chunks.map((c) => [c.row0, c.rows])).toEqual([[0, 112], [112, 112], [224, 76]]);
    expect(t.chunks.every((c) => c.buffer.size <= 12 * 1024)).toBe(true);
    const ids = Int32Array.from([0, 111, 112, 223, 224, 299, 5, 150, 150, 260]);
    const M = ids.length;
    const out = uploadStorage(ctx, new Float32Array(M * C).fill(Number.NaN), 'out');
    const enc = ctx.device.createCommandEncoder();
    for (const c of t.chunks) embeddingForward(ctx, enc, { M, C, V: c.rows, rowStart: c.row0, ids: uploadStorage(ctx, ids, 'ids'), table: c.buffer, tableDtype: 'BF16', out });
    await submitAndWait(ctx, [enc.finish()]);
    expectClose(await readF32(ctx, out), embeddingRef(ids, E.values, V, C), 0, 0, 'embedding over 3 chunks');
  });

  it('names the tensor when the bytes do not match [V, C]', async () => {
    const ctx = await testGpu();
    expect(() => uploadVocabTable(ctx, new Uint8Array(10), 'BF16', V, C, 'lm_head.weight')).toThrow(/lm_head.weight \(BF16 \[300, 40\]\) needs 24000 bytes but 10 were given/);
  });
});

describe('chunked lm_head + cross-entropy', () => {
  // n = logits scratches kept: 1 (recompute all chunks but the last), 2 (some), 0 = one per chunk (recompute none).
  // softcap 0.75: the logits here reach about ±2, so the cap bends most of them.
  const cases: ReadonlyArray<readonly [number, number, number | undefined]> = [[9, 1, undefined], [20, 1, undefined], [20, 2, undefined], [9, 0, undefined], [20, 0, undefined], [20, 2, 0.75], [9, 0, 0.75], [9, 1, 0.75]];
  it.each(cases)('M=%i, %i kept logits chunks (0: all), softcap %s: loss, lse, dH and the logits match the f64 reference', async (M, kept, softcap) => {
    const opts = softcap === undefined ? {} : { softcap };
    const ctx = await limited();
    const E = table();
    const t = uploadVocabTable(ctx, E.bytes, 'BF16', V, C, 'lm_head', 112);
    const Vc = vocabChunkRows(V, C, M, ctx.limits, M === 9 ? 64 : 50);
    expect(Vc).toBe(M === 9 ? 64 : 48);
    const nSlices = vocabSlices(t, Vc).length;
    expect(nSlices).toBeGreaterThan(t.chunks.length);
    const n = kept === 0 ? nSlices : kept;
    const h = randomF32(M * C, M, 1);
    const targets = Int32Array.from({ length: M }, (_, m) => (m % 3 === 1 ? IGNORE_INDEX : (m * 37 + 111) % V));
    const gradScale = 1 / targets.filter((x) => x !== IGNORE_INDEX).length;
    const b: HeadBuffers = {
      h: uploadStorage(ctx, h, 'h'), logits: Array.from({ length: n }, (_, k) => createStorage(ctx, M * Vc * 4, `logits.${k}`)), chunkRows: Vc,
      targets: uploadStorage(ctx, targets, 'targets'), stats: createStorage(ctx, M * CE_STATS_PER_ROW * 4, 'stats'), losses: createStorage(ctx, M * 4, 'losses'),
    };
    const dH = createStorage(ctx, M * C * 4, 'dH');
    const enc = ctx.device.createCommandEncoder();
    recordHeadLoss(ctx, enc, t, M, b, opts);
    recordHeadBackward(ctx, enc, t, M, b, dH, gradScale, opts);
    await submitAndWait(ctx, [enc.finish()]);
    const ref = lmHeadRef(M, V, C, Vc, h, E.values, targets, gradScale, softcap);
    expectClose(await readF32(ctx, b.losses), ref.losses, 1e-4, 1e-5, 'loss');
    const stats = await readF32(ctx, b.stats);
    expectClose(Array.from({ length: M }, (_, m) => (targets[m] === IGNORE_INDEX ? 0 : (stats[m * CE_STATS_PER_ROW + 3] as number))), ref.lse, 1e-4, 1e-5, 'lse');
    expectClose(await readF32(ctx, dH), ref.dH, 1e-6, 1e-4, 'dH');
    const logits = await readLogits(ctx, t, M, b, opts);
    const raw = new Float64Array(M * V);
    for (let m = 0; m < M; m++) for (let v = 0; v < V; v++) for (let c = 0; c < C; c++) raw[m * V + v] = (raw[m * V + v] as number) + (h[m * C + c] as number) * (E.values[v * C + c] as number);
    const want = softcap === undefined ? raw : softcapRef(raw, softcap);
    if (softcap !== undefined) expect(Math.max(...raw.map(Math.abs))).toBeGreaterThan(2 * softcap); // the cap matters
    expectClose(logits, want, 1e-5, 1e-5, 'logits');
  });

  it('refuses a logits scratch smaller than [M, chunkRows]', async () => {
    const ctx = await testGpu();
    const t = uploadVocabTable(ctx, table().bytes, 'BF16', V, C, 'lm_head');
    const s = createStorage(ctx, 64, 's');
    const enc = ctx.device.createCommandEncoder();
    expect(() => recordHeadLoss(ctx, enc, t, 4, { h: s, logits: [s], chunkRows: 100, targets: s, stats: s, losses: s })).toThrow(/logits scratch holds 64 bytes, but M=4 rows × 100 vocabulary rows need 1600/);
    expect(() => recordHeadLoss(ctx, enc, t, 4, { h: s, logits: [], chunkRows: 1, targets: s, stats: s, losses: s })).toThrow(/no logits scratch buffer given/);
    enc.finish();
  });
});
