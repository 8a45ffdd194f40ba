/**
 * Micro-batches of tokenised preference pairs: the chosen and rejected rows of a pair always go into the SAME
 * micro-batch (so one forward gives both log-probs and the backward scales each row), chosen rows first then the
 * rejected rows in the same order (LLaMA-Factory PairwiseDataCollatorWithPadding; TRL concatenated_inputs), right
 * padding to the longest of the 2P rows, labels -100 on padding (./batches makeBatches does the padding). The pair
 * order is shuffled with the same seeded permutation as SFT examples (./batches shuffledOrder).
 */
import type { PreferenceBatch, TokenizedExample } from './types';
import { makeBatches, shuffledOrder, type BatchOptions } from './batches';

/** A tokenised pair as batching needs it (io/tokenizer/pairs TokenizedPair fits). */
export interface TokenizedPairRows {
  readonly chosen: TokenizedExample;
  readonly rejected: TokenizedExample;
  readonly source: string;
}

/** Label value excluded from the loss (HF IGNORE_INDEX). */
const IGNORE = -100;

/**
 * Labelled positions per row after the shift: count of labels[b, t] ≠ -100 for t in 1..T-1 (LLaMA-Factory
 * get_batch_logps `valid_length`). @param labels Int32 [B, T] row-major @returns Int32 [B]
 */
export function labelCountsOf(labels: Int32Array, batchSize: number, seqLen: number): Int32Array {
  if (labels.length !== batchSize * seqLen) throw new Error(`labels has ${labels.length} entries, expected B·T = ${batchSize}·${seqLen}`);
  const out = new Int32Array(batchSize);
  for (let b = 0; b < batchSize; b++) {
    let n = 0;
    for (let t = 1; t < seqLen; t++) if (labels[b * seqLen + t] !== IGNORE) n++;
    out[b] = n;
  }
  return out;
}

/**
 * Groups pairs into preference micro-batches of `pairsPerBatch` pairs (B = 2·pairs rows, see the file comment).
 * T = the longest of the batch's 2P rows, capped at options.maxLength.
 * @param pairsPerBatch P (positive integer): LLaMA-Factory's per_device_train_batch_size counts pairs
 * @param options maxLength, padTokenId, seed/shuffle, dropLast as {@link makeBatches} (applied to pairs)
 * @throws Error for a non-positive pairsPerBatch/maxLength, a shuffle without a seed, a row whose input_ids and
 *   labels lengths differ (naming the pair), or a row with no labelled position after the shift (naming the pair)
 */
export function makePreferenceBatches(pairs: readonly TokenizedPairRows[], pairsPerBatch: number, options: BatchOptions = {}): PreferenceBatch[] {
  const shuffle = options.shuffle ?? (options.seed !== undefined && options.seed !== null);
  if (shuffle && (options.seed === undefined || options.seed === null)) throw new Error('makePreferenceBatches: shuffle needs a seed');
  if (!Number.isInteger(pairsPerBatch) || pairsPerBatch < 1) throw new Error(`pairs per batch must be a positive integer, got ${pairsPerBatch}`);
  const order = shuffle ? shuffledOrder(pairs.length, options.seed as number) : pairs.map((_, i) => i);
  const out: PreferenceBatch[] = [];
  for (let start = 0; start < order.length; start += pairsPerBatch) {
    const idx = order.slice(start, start + pairsPerBatch);
    const group = idx.map((i) => pairs[i] as TokenizedPairRows);
    if (group.length < pairsPerBatch && options.dropLast) break;
    const rows = [...group.map((p) => p.chosen), ...group.map((p) => p.rejected)];
    const [batch] = makeBatches(rows, rows.length, { maxLength: options.maxLength, padTokenId: options.padTokenId, shuffle: false });
    if (!batch) throw new Error('makePreferenceBatches: empty group');
    const labelCounts = labelCountsOf(batch.labels, batch.batchSize, batch.seqLen);
    labelCounts.forEach((n, b) => {
      if (n === 0) throw new Error(`${(group[b % group.length] as TokenizedPairRows).source}: the ${b < group.length ? 'chosen' : 'rejected'} answer has no labelled token within ${batch.seqLen} tokens (Max length cut it off)`);
    });
    out.push({ ...batch, pairs: group.length, labelCounts, sources: group.map((p) => p.source), pairIndex: Int32Array.from(idx) });
  }
  return out;
}
