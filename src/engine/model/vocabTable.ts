/**
 * The vocabulary matrix E [V, C] (HF model.embed_tokens.weight; lm_head.weight, the same tensor when
 * tie_word_embeddings) on the GPU in its file dtype, as one buffer when it fits a storage binding and as row chunks
 * (one buffer each) when it does not. See vocabChunks.ts for the split rules.
 */
import type { WeightDType } from '../../io/dtype';
import type { GpuContext } from '../gpu/context';
import { packedBytes, uploadWeight } from '../gpu/weights';
import type { Binding } from '../gpu/pipeline';
import { computeChunks, DEFAULT_VOCAB_CHUNK_ROWS, splitRows, tableChunkRows } from './vocabChunks';

/** One stored chunk: rows [row0, row0 + rows) of E in its own buffer (packed u32 words, file dtype). */
export interface VocabTableChunk {
  readonly buffer: GPUBuffer;
  readonly row0: number;
  readonly rows: number;
}

/** E [V, C] resident on the GPU, possibly split by rows. */
export interface VocabTable {
  readonly label: string;
  readonly dtype: WeightDType;
  /** V */
  readonly rows: number;
  /** C */
  readonly cols: number;
  readonly chunks: readonly VocabTableChunk[];
  /** Sum of the chunk buffers' sizes (bytes). */
  readonly bytes: number;
}

/**
 * Uploads raw safetensors bytes of E [V, C] (file dtype), split by {@link tableChunkRows}.
 * @param settingRows most rows per stored chunk when the table must be split.
 * @throws Error naming `label` when the byte length does not match [V, C]; DeviceLimitError / VocabChunkError when a
 *   row cannot fit the limits.
 */
export function uploadVocabTable(ctx: GpuContext, bytes: Uint8Array, dtype: WeightDType, V: number, C: number, label: string, settingRows = DEFAULT_VOCAB_CHUNK_ROWS): VocabTable {
  const want = packedBytes(dtype, V * C);
  if (bytes.byteLength !== want) throw new Error(`uploadVocabTable: ${label} (${dtype} [${V}, ${C}]) needs ${want} bytes but ${bytes.byteLength} were given`);
  const rowBytes = packedBytes(dtype, C);
  const ranges = splitRows(V, tableChunkRows(V, C, packedBytes(dtype, 1), ctx.limits, settingRows));
  const chunks: VocabTableChunk[] = [];
  try {
    for (const r of ranges) {
      const part = bytes.subarray(r.row0 * rowBytes, (r.row0 + r.rows) * rowBytes);
      const name = ranges.length === 1 ? label : `${label}[${r.row0}:${r.row0 + r.rows}]`;
      chunks.push({ buffer: uploadWeight(ctx, part, dtype, [r.rows, C], name).buffer, row0: r.row0, rows: r.rows });
    }
  } catch (e) {
    for (const c of chunks) c.buffer.destroy();
    throw e;
  }
  return { label, dtype, rows: V, cols: C, chunks, bytes: chunks.reduce((a, c) => a + c.buffer.size, 0) };
}

/** Wraps an existing packed weight buffer [V, C] as a one-chunk table (tests, small models). */
export function singleChunkTable(buffer: GPUBuffer, dtype: WeightDType, V: number, C: number, label: string): VocabTable {
  return { label, dtype, rows: V, cols: C, chunks: [{ buffer, row0: 0, rows: V }], bytes: buffer.size };
}

/** A compute chunk of a table: rows [row0, row0 + rows) bound as packed [rows, C] words. */
export interface VocabSlice {
  readonly row0: number;
  readonly rows: number;
  readonly binding: Binding;
}

/**
 * The table cut into compute chunks of at most `chunkRows` rows (sub-ranges of the stored chunks; byte offsets are
 * multiples of the offset alignment when chunkRows comes from vocabChunkRows).
 */
export function vocabSlices(t: VocabTable, chunkRows: number): VocabSlice[] {
  const rowBytes = packedBytes(t.dtype, t.cols);
  return computeChunks(t.chunks, chunkRows).map((c) => {
    const buf = (t.chunks[c.storage] as VocabTableChunk).buffer;
    const offset = c.offsetRows * rowBytes;
    const size = Math.min(Math.ceil((c.rows * rowBytes) / 4) * 4, buf.size - offset);
    return { row0: c.row0, rows: c.rows, binding: c.offsetRows === 0 && c.rows === (t.chunks[c.storage] as VocabTableChunk).rows ? buf : { buffer: buf, offset, size } };
  });
}
