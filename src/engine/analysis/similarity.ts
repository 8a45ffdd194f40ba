/**
 * Weight similarity σ between a Base and an Instruct checkpoint, per tensor (Shadow-FT §2.3; the authors'
 * `weight_similarity.py`): σ(W_B, W_I) = Σ|W_B − W_I| / (Σ|W_B| + Σ|W_I|), from the stored values upcast exactly
 * to f32 (BF16/F16 → F32), with every sum in f64 (JS numbers; blocks of 4,096 terms summed first, then added up).
 * Streaming: tensors are read one at a time with Blob.slice, in chunks of at most `chunkBytes` (default 16 MiB),
 * decoded into one reused f32 buffer per side, so memory stays bounded whatever the model size (peak measured on a
 * 1.13 GB Qwen3-shaped pair in tests/unit/streaming-pair.test.ts). Aggregates follow ../shared/fixtures/README.md
 * case 3.
 */
import type { Checkpoint, TensorLocation } from '../../io/checkpoint';
import { DTYPE_BYTES } from '../../io/dtype';
import { numel } from '../../io/safetensors';
import { chunkElements, DEFAULT_CHUNK_BYTES, F32Scratch, readF32Chunks } from './tensorChunks';
import { isVocabTensor, layerOf, moduleOf } from './tensorName';
import { summariseSimilarity, type SimilaritySummary } from './similaritySummary';

export type { SigmaAggregate, SigmaExtreme, LayerMean, SimilaritySummary } from './similaritySummary';

/** σ of one tensor present in both checkpoints. */
export interface SimilarityRow {
  /** HF tensor name, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  readonly tensor: string;
  /** N of `model.layers.N.`, null for embed_tokens / norm / lm_head. */
  readonly layer: number | null;
  /** Module label (see tensorName.ts moduleOf): q_proj, q_proj.bias, input_layernorm, embed_tokens, norm, lm_head… */
  readonly module: string;
  /** Shape compared (for embed_tokens/lm_head with different row counts: the shared rows [min(V_B, V_I), C]). */
  readonly shape: readonly number[];
  /** Elements compared (= product of `shape`). */
  readonly numel: number;
  /** σ in [0, 1]; 0 when both tensors are all zeros (0/0 is defined as "identical"). */
  readonly sigma: number;
}

/** The full σ report of a Base/Instruct pair. */
export interface SimilarityReport {
  readonly baseModel: string;
  readonly instructModel: string;
  /** One row per shared tensor: embed_tokens first, then layers in index order (names sorted), then the rest. */
  readonly rows: readonly SimilarityRow[];
  readonly summary: SimilaritySummary;
  /** Tensors of the Base checkpoint missing from Instruct (sorted). */
  readonly onlyInBase: readonly string[];
  /** Tensors of the Instruct checkpoint missing from Base (sorted), e.g. lm_head.weight when only one is tied. */
  readonly onlyInInstruct: readonly string[];
  /** Human-readable notes, e.g. σ of embed_tokens computed over the shared rows only. */
  readonly warnings: readonly string[];
}

/** Progress of {@link computeSimilarity}: file bytes read so far (both checkpoints) and the tensor being read. */
export interface SimilarityProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly tensor: string;
}

/** Options of {@link computeSimilarity}. */
export interface SimilarityOptions {
  onProgress?(p: SimilarityProgress): void;
  /** Checked between chunks; aborting rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Max file bytes per read and per tensor in memory (default 16 MiB); smaller values only cost speed. */
  chunkBytes?: number;
  /**
   * lm_head.weight is not a tensor of its own in at least one of the models (tied to embed_tokens, io/head.ts):
   * it is then neither compared nor listed as present in one model only. Default false (compare when in both files).
   */
  tiedHead?: boolean;
}

/** Thrown when two tensors of the same name cannot be compared; names the tensor and both shapes. */
export class SimilarityError extends Error {
  override name = 'SimilarityError';
}

/** What to compare for one shared tensor. */
interface Pair {
  readonly tensor: string;
  readonly base: TensorLocation;
  readonly instruct: TensorLocation;
  readonly shape: readonly number[];
  readonly count: number;
}

const BLOCK = 4096;

/** Σ|a−b|, Σ|a|, Σ|b| over two equal-length chunks (f64, summed in blocks of 4,096 terms). */
function accumulate(a: Float32Array, b: Float32Array, acc: [number, number, number]): void {
  for (let s = 0; s < a.length; s += BLOCK) {
    const e = Math.min(a.length, s + BLOCK);
    let d = 0;
    let sa = 0;
    let sb = 0;
    for (let i = s; i < e; i++) {
      const x = a[i] as number;
      const y = b[i] as number;
      d += Math.abs(x - y);
      sa += Math.abs(x);
      sb += Math.abs(y);
    }
    acc[0] += d;
    acc[1] += sa;
    acc[2] += sb;
  }
}

/** Decides what to compare for a tensor present in both checkpoints; throws on incompatible shapes. */
function pairOf(tensor: string, base: TensorLocation, instruct: TensorLocation, warnings: string[]): Pair {
  const sb = base.info.shape;
  const si = instruct.info.shape;
  const same = sb.length === si.length && sb.every((d, i) => d === si[i]);
  if (same) return { tensor, base, instruct, shape: sb, count: numel(sb) };
  const rowsDiffer = sb.length === 2 && si.length === 2 && sb[1] === si[1];
  if (isVocabTensor(tensor) && rowsDiffer) {
    const rows = Math.min(sb[0] as number, si[0] as number);
    const shape = [rows, sb[1] as number];
    warnings.push(`${tensor}: Base has ${sb[0]} rows and Instruct ${si[0]} (added tokens?); σ is computed over the ${rows} shared rows`);
    return { tensor, base, instruct, shape, count: numel(shape) };
  }
  throw new SimilarityError(`tensor ${tensor}: shape ${JSON.stringify(sb)} in ${base.fileName} (Base) differs from ${JSON.stringify(si)} in ${instruct.fileName} (Instruct)`);
}

/** Orders rows: embed_tokens first, layer tensors by layer then name, then the remaining tensors by name. */
function rowOrder(a: SimilarityRow, b: SimilarityRow): number {
  const g = (r: SimilarityRow): number => (r.tensor === 'model.embed_tokens.weight' ? 0 : r.layer !== null ? 1 : 2);
  return g(a) - g(b) || (a.layer ?? 0) - (b.layer ?? 0) || (a.tensor < b.tensor ? -1 : a.tensor > b.tensor ? 1 : 0);
}

/**
 * Computes σ for every tensor present in both checkpoints, streaming tensor by tensor (file order of the Base).
 * @param base the Base checkpoint (W_B), any weight dtype.
 * @param instruct the Instruct checkpoint (W_I); dtypes may differ from the Base (both are upcast to f32).
 * @returns rows, aggregates (paper figure = unweighted mean over `model.layers.N.` tensors), the tensors present in
 *   only one model and warnings.
 * @throws SimilarityError when a shared tensor's shapes differ (except embed_tokens/lm_head rows: compared over the
 *   shared rows, with a warning) or when the checkpoints share no tensor; the signal's reason when aborted.
 */
export async function computeSimilarity(base: Checkpoint, instruct: Checkpoint, opts: SimilarityOptions = {}): Promise<SimilarityReport> {
  const warnings: string[] = [];
  const pairs: Pair[] = [];
  const skip = (name: string): boolean => opts.tiedHead === true && name === 'lm_head.weight';
  for (const [name, b] of base.tensors) {
    if (skip(name)) continue;
    const i = instruct.tensors.get(name);
    if (i) pairs.push(pairOf(name, b, i, warnings));
  }
  if (pairs.length === 0) throw new SimilarityError(`${base.modelName} and ${instruct.modelName} have no tensor name in common (different architectures?)`);
  const fileIdx = new Map(base.fileNames.map((f, k) => [f, k]));
  pairs.sort((p, q) => (fileIdx.get(p.base.fileName) ?? 0) - (fileIdx.get(q.base.fileName) ?? 0) || p.base.info.begin - q.base.info.begin);
  const bytesOf = (p: Pair): number => p.count * (DTYPE_BYTES[p.base.info.dtype] + DTYPE_BYTES[p.instruct.info.dtype]);
  const bytesTotal = pairs.reduce((s, p) => s + bytesOf(p), 0);
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  let bytesDone = 0;
  const rows: SimilarityRow[] = [];
  // One decode buffer per side for the whole scan (each chunk is consumed before the next is read).
  const scratchB = new F32Scratch();
  const scratchI = new F32Scratch();
  for (const p of pairs) {
    opts.signal?.throwIfAborted();
    opts.onProgress?.({ bytesDone, bytesTotal, tensor: p.tensor });
    const bpe = Math.max(DTYPE_BYTES[p.base.info.dtype], DTYPE_BYTES[p.instruct.info.dtype]);
    const n = chunkElements(chunkBytes, bpe);
    const gb = readF32Chunks(p.base, p.count, n, opts.signal, scratchB);
    const gi = readF32Chunks(p.instruct, p.count, n, opts.signal, scratchI);
    const acc: [number, number, number] = [0, 0, 0];
    for (;;) {
      const [cb, ci] = await Promise.all([gb.next(), gi.next()]);
      if (cb.done || ci.done) break;
      accumulate(cb.value.values, ci.value.values, acc);
      bytesDone += cb.value.bytes + ci.value.bytes;
      opts.onProgress?.({ bytesDone, bytesTotal, tensor: p.tensor });
    }
    const den = acc[1] + acc[2];
    const sigma = den === 0 ? 0 : acc[0] / den;
    rows.push({ tensor: p.tensor, layer: layerOf(p.tensor), module: moduleOf(p.tensor), shape: p.shape, numel: p.count, sigma });
  }
  rows.sort(rowOrder);
  const onlyInBase = [...base.tensors.keys()].filter((k) => !instruct.tensors.has(k) && !skip(k)).sort();
  const onlyInInstruct = [...instruct.tensors.keys()].filter((k) => !base.tensors.has(k) && !skip(k)).sort();
  return { baseModel: base.modelName, instructModel: instruct.modelName, rows, summary: summariseSimilarity(rows), onlyInBase, onlyInInstruct, warnings };
}
