/**
 * Vocabulary split rules (src/engine/model/vocabChunks.ts): storage chunks only when the table exceeds one binding,
 * compute chunks that keep [M, Vc] logits and [Vc, C] weights under the binding limit at aligned offsets, and
 * errors that name the limit when nothing fits.
 */
import { describe, expect, it } from 'vitest';
import { computeChunks, splitRows, tableChunkRows, vocabChunkRows, VocabChunkError } from '../../src/engine/model/vocabChunks';

const MiB = 2 ** 20;
const limits = (binding: number, buffer = 2 * binding) => ({ maxBufferSize: buffer, maxStorageBufferBindingSize: binding, minStorageBufferOffsetAlignment: 256 });

describe('vocabulary chunks', () => {
  it('keeps a table that fits one binding as one buffer, and splits Qwen3-0.6B (151936 × 1024 BF16 = 297 MiB) under 128 MiB', () => {
    expect(tableChunkRows(256, 64, 4, limits(128 * MiB))).toBe(256);
    const rows = tableChunkRows(151936, 1024, 2, limits(128 * MiB));
    expect(rows).toBe(16384);
    const chunks = splitRows(151936, rows);
    expect(chunks.length).toBe(10);
    expect(chunks.at(-1)).toEqual({ row0: 9 * 16384, rows: 151936 - 9 * 16384 });
    expect(chunks.reduce((a, c) => a + c.rows, 0)).toBe(151936);
    // The binding limit, not the setting, decides when it is smaller.
    expect(tableChunkRows(151936, 1024, 2, limits(16 * MiB))).toBe(8192);
    // The smaller of maxBufferSize and maxStorageBufferBindingSize counts.
    expect(tableChunkRows(151936, 1024, 2, limits(1024 * MiB, 64 * MiB))).toBe(16384);
  });

  it('compute chunk rows: ≤ setting, logits [M, Vc] and weights [Vc, C] within the binding, offsets aligned', () => {
    expect(vocabChunkRows(151936, 1024, 1024, limits(128 * MiB))).toBe(16384);
    expect(vocabChunkRows(151936, 1024, 4096, limits(128 * MiB))).toBe(8192); // 4096 · 8192 · 4 = 128 MiB
    expect(vocabChunkRows(256, 64, 48, limits(128 * MiB))).toBe(256); // one chunk covers V
    const Vc = vocabChunkRows(300, 40, 9, limits(12 * 1024), 70); // align = 256 / gcd(80, 256) = 16
    expect(Vc).toBe(64);
    expect((Vc * 40 * 2) % 256).toBe(0);
    expect(() => vocabChunkRows(151936, 1024, 2 ** 26, limits(128 * MiB))).toThrow(VocabChunkError);
    expect(() => vocabChunkRows(151936, 1024, 2 ** 26, limits(128 * MiB))).toThrow(/over this GPU's storage binding limit of 134217728 bytes \(maxStorageBufferBindingSize\); lower Batch size or Max length/);
    expect(() => tableChunkRows(10, 1024, 4, limits(1000))).toThrow(/one vocabulary row \(C=1024 × 4 bytes = 4096 bytes\) exceeds/);
    expect(() => vocabChunkRows(10, 4, 4, limits(MiB), 0)).toThrow(/positive whole number of rows, got 0/);
  });

  it('compute chunks cover every row once, in order, inside their storage chunk', () => {
    const storage = splitRows(300, 112);
    const cc = computeChunks(storage, 64);
    expect(cc.map((c) => [c.storage, c.offsetRows, c.row0, c.rows])).toEqual([
      [0, 0, 0, 64], [0, 64, 64, 48], [1, 0, 112, 64], [1, 64, 176, 48], [2, 0, 224, 64], [2, 64, 288, 12],
    ]);
  });
});
