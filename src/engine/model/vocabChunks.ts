/**
 * How the vocabulary matrix E [V, C] (embed_tokens, and lm_head which is the same tensor when tied) is split so that
 * no buffer or binding exceeds the device limits (DESIGN.md "Precision and memory": a tensor larger than the binding
 * limit is split). Pure arithmetic, shared by the weight upload, the activations, the head and the memory plan.
 *  - Storage: one buffer when the table fits min(maxBufferSize, maxStorageBufferBindingSize); otherwise row chunks
 *    of at most `settingRows` rows, each its own buffer.
 *  - Compute: the head processes Vc rows at a time (Vc ≤ settingRows, the logits chunk [M, Vc] f32 and the weight
 *    rows [Vc, C] fit one binding); a chunk is a sub-range of a storage buffer whose byte offset is a multiple of
 *    minStorageBufferOffsetAlignment.
 * Memory-efficient loss by vocabulary chunks: the approach of Liger-Kernel's FusedLinearCrossEntropy and of
 * Wijmans et al. 2024 "Cut Your Losses in Large-Vocabulary Language Models" (online log-sum-exp, Milakov & Gimelshein
 * 2018 "Online normalizer calculation for softmax").
 */
import type { DeviceLimits } from '../gpu/context';

/** Default upper bound on rows per vocabulary chunk (16 Ki rows: 64 MiB of f32 logits at M = 1024). */
export const DEFAULT_VOCAB_CHUNK_ROWS = 16384;

/**
 * Most bytes of logits scratch the training head keeps so that its backward need not recompute chunk logits
 * (256 MiB: the 2-layer Qwen3-0.6B-shaped bench at T 256 keeps all ten chunks, 155 MB).
 */
export const KEEP_LOGITS_MAX_BYTES = 256 * 1024 * 1024;

/**
 * How many logits chunks [M, Vc] the head keeps (model/head.ts: chunk k in scratch k mod n): all ceil(V / Vc) compute
 * chunks when they fit {@link KEEP_LOGITS_MAX_BYTES} (then the backward recomputes none), else 1 (it recomputes all
 * but the last). Vocabularies that fit one chunk always give 1. Storage splits may add a chunk or two beyond
 * ceil(V / Vc); those are recomputed (correct either way).
 */
export function keptLogitsChunks(V: number, M: number, Vc: number, maxBytes = KEEP_LOGITS_MAX_BYTES): number {
  const n = Math.ceil(V / Vc);
  return n > 1 && n * M * Vc * 4 <= maxBytes ? n : 1;
}

/** Thrown when the vocabulary cannot be chunked within the device limits; names the limit and the numbers. */
export class VocabChunkError extends Error {
  override name = 'VocabChunkError';
}

/** A range of vocabulary rows [row0, row0 + rows). */
export interface RowRange {
  readonly row0: number;
  readonly rows: number;
}

type ChunkLimits = Pick<DeviceLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize' | 'minStorageBufferOffsetAlignment'>;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Largest bytes one storage buffer may hold and still be bound whole. */
export function bindableBytes(limits: Pick<DeviceLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>): number {
  return Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
}

function checkSetting(settingRows: number): void {
  if (!Number.isInteger(settingRows) || settingRows < 1) throw new VocabChunkError(`vocabulary chunk size must be a positive whole number of rows, got ${settingRows}`);
}

/**
 * Rows per storage chunk of a [V, C] table of `dtypeBytes`-byte elements: V (one buffer) when V·C·dtypeBytes fits
 * one binding, else min(settingRows, ⌊limit / (C·dtypeBytes)⌋).
 * @throws VocabChunkError when a single row is larger than the binding limit, or settingRows is not a positive integer.
 */
export function tableChunkRows(V: number, C: number, dtypeBytes: number, limits: Pick<DeviceLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>, settingRows = DEFAULT_VOCAB_CHUNK_ROWS): number {
  checkSetting(settingRows);
  const limit = bindableBytes(limits);
  const rowBytes = C * dtypeBytes;
  if (Math.ceil((V * rowBytes) / 4) * 4 <= limit) return V;
  const fit = Math.floor(limit / rowBytes);
  if (fit < 1) throw new VocabChunkError(`one vocabulary row (C=${C} × ${dtypeBytes} bytes = ${rowBytes} bytes) exceeds this GPU's storage binding limit of ${limit} bytes`);
  return Math.min(settingRows, fit);
}

/** Splits V rows into consecutive ranges of `rowsPerChunk` rows (the last may be shorter). */
export function splitRows(V: number, rowsPerChunk: number): RowRange[] {
  const out: RowRange[] = [];
  for (let row0 = 0; row0 < V; row0 += rowsPerChunk) out.push({ row0, rows: Math.min(rowsPerChunk, V - row0) });
  return out;
}

/**
 * Rows Vc the head processes at once for M = B·T token rows: the largest Vc ≤ min(V, settingRows) such that the
 * logits chunk [M, Vc] f32 and the weight rows [Vc, C] (f32 worst case) each fit one binding, rounded down to a
 * multiple of the row alignment a = minStorageBufferOffsetAlignment / gcd(2C, minStorageBufferOffsetAlignment) so
 * chunk offsets inside a storage buffer are aligned for 2- and 4-byte dtypes (Vc = V when one chunk covers V).
 * @throws VocabChunkError naming maxStorageBufferBindingSize and the numbers when even `a` rows do not fit
 *   (lower Batch size or Max length).
 */
export function vocabChunkRows(V: number, C: number, M: number, limits: ChunkLimits, settingRows = DEFAULT_VOCAB_CHUNK_ROWS): number {
  checkSetting(settingRows);
  const limit = bindableBytes(limits);
  const fit = Math.min(V, settingRows, Math.floor(limit / (M * 4)), Math.floor(limit / (C * 4)));
  if (fit >= V) return V;
  const align = limits.minStorageBufferOffsetAlignment / gcd(2 * C, limits.minStorageBufferOffsetAlignment);
  const rows = Math.floor(fit / align) * align;
  if (rows < 1)
    throw new VocabChunkError(`the logits of ${align} vocabulary rows for M=${M} tokens need ${align * M * 4} bytes, over this GPU's storage binding limit of ${limit} bytes (maxStorageBufferBindingSize); lower Batch size or Max length`);
  return rows;
}

/**
 * Compute chunks: each storage chunk (ranges from {@link splitRows} with {@link tableChunkRows}) split into
 * sub-ranges of at most `chunkRows` rows, in vocabulary order. `storage` is the index of the storage chunk and
 * `offsetRows` the first row inside it.
 */
export function computeChunks(storage: readonly RowRange[], chunkRows: number): { storage: number; offsetRows: number; row0: number; rows: number }[] {
  const out: { storage: number; offsetRows: number; row0: number; rows: number }[] = [];
  storage.forEach((s, k) => {
    for (let off = 0; off < s.rows; off += chunkRows) out.push({ storage: k, offsetRows: off, row0: s.row0 + off, rows: Math.min(chunkRows, s.rows - off) });
  });
  return out;
}
