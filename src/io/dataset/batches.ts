/**
 * Micro-batches of tokenised examples: optional seeded shuffle, right padding to the longest row of each batch,
 * and the HF token count num_items_in_batch (labels ≠ -100 at positions 1..T-1, i.e. after the shift
 * logits[:, :-1] vs labels[:, 1:] of transformers loss_utils.ForCausalLMLoss).
 */
import type { Batch, TokenizedExample } from './types';

/** Label value excluded from the loss (HF IGNORE_INDEX). */
const IGNORE = -100;

/** Options of {@link makeBatches}. */
export interface BatchOptions {
  /** Optional cap on T (positive integer); rows longer than this are cut. */
  readonly maxLength?: number;
  /** input_ids value on padding (tokenizer pad_token_id ?? eos_token_id ?? 0; see ChatTokenizer.padTokenId). Default 0. */
  readonly padTokenId?: number;
  /** Shuffle seed. Use a different seed per epoch (e.g. seed + epoch). */
  readonly seed?: number | null;
  /** Shuffle the examples with `seed`; default true when a seed is given, false otherwise. */
  readonly shuffle?: boolean;
  /** Drop a last batch smaller than batchSize (torch DataLoader drop_last). Default false. */
  readonly dropLast?: boolean;
}

/** mulberry32 PRNG (Tommy Ettinger's public-domain generator): uniform floats in [0, 1) from a 32-bit seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A permutation of 0..n-1: Fisher–Yates driven by mulberry32(seed). Deterministic for a given (n, seed); not the
 * order torch's RandomSampler would give.
 */
export function shuffledOrder(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/**
 * Groups examples into right-padded [B, T] int32 batches (row-major). T = the longest example of the batch, capped
 * at maxLength when given (longer rows are cut); padding has input_ids = padTokenId and labels = -100.
 * Called as makeBatches(examples, B, options) or makeBatches(examples, B, maxLength, options).
 * @param batchSize B (positive integer); the last batch may be smaller unless dropLast
 * @throws Error for a non-positive batchSize/maxLength, a shuffle without a seed, or an example whose inputIds and
 *   labels lengths differ
 */
export function makeBatches(examples: readonly TokenizedExample[], batchSize: number, options?: BatchOptions): Batch[];
export function makeBatches(examples: readonly TokenizedExample[], batchSize: number, maxLength: number | undefined, options?: BatchOptions): Batch[];
export function makeBatches(examples: readonly TokenizedExample[], batchSize: number, third?: number | BatchOptions, fourth?: BatchOptions): Batch[] {
  const options: BatchOptions = typeof third === 'object' ? third : { ...fourth, ...(third !== undefined ? { maxLength: third } : {}) };
  const { maxLength, seed } = options;
  const shuffle = options.shuffle ?? (seed !== undefined && seed !== null);
  if (shuffle && (seed === undefined || seed === null)) throw new Error('makeBatches: shuffle needs a seed');
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batch size must be a positive integer, got ${batchSize}`);
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) throw new Error(`max length must be a positive integer, got ${maxLength}`);
  for (const ex of examples) {
    if (ex.inputIds.length !== ex.labels.length) throw new Error(`${ex.source}: input_ids has ${ex.inputIds.length} tokens but labels has ${ex.labels.length}`);
  }
  const pad = options.padTokenId ?? 0;
  const order = shuffle ? shuffledOrder(examples.length, seed as number) : examples.map((_, i) => i);
  const batches: Batch[] = [];
  for (let start = 0; start < order.length; start += batchSize) {
    const rows = order.slice(start, start + batchSize).map((i) => examples[i] as TokenizedExample);
    if (rows.length < batchSize && options.dropLast) break;
    const cap = maxLength ?? Infinity;
    const T = Math.max(1, ...rows.map((r) => Math.min(r.inputIds.length, cap)));
    const B = rows.length;
    const inputIds = new Int32Array(B * T).fill(pad);
    const labels = new Int32Array(B * T).fill(IGNORE);
    let numItems = 0;
    rows.forEach((r, b) => {
      const len = Math.min(r.inputIds.length, T);
      inputIds.set(r.inputIds.subarray(0, len), b * T);
      labels.set(r.labels.subarray(0, len), b * T);
      for (let t = 1; t < len; t++) if (r.labels[t] !== IGNORE) numItems++;
    });
    batches.push({ batchSize: B, seqLen: T, inputIds, labels, numItems });
  }
  return batches;
}
