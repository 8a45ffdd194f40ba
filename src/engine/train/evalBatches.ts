/**
 * Held-out batches that cost what they should: examples sorted by length (longest first) and packed into
 * micro-batches of up to `maxTokens` = B·T padded tokens — the capacity of the activations the run allocated — so
 * short rows are not padded to the longest row of a random batch, and a forward-only pass uses as few dispatches as
 * the memory allows. The mean held-out loss does not depend on the grouping (Σ token NLL / Σ label tokens), only
 * the f32 summation order does.
 */
import { makeBatches } from '../../io/dataset/batches';
import type { Batch, TokenizedExample } from '../../io/dataset/types';

/**
 * Groups `examples` for evaluation.
 * @param maxTokens most B·T per batch (≥ the longest row, after the maxLength cut)
 * @param maxLength rows longer than this are cut (as in training)
 * @throws Error when a single row (after the cut) is longer than maxTokens
 */
export function evalBatches(examples: readonly TokenizedExample[], maxTokens: number, maxLength: number, padTokenId: number): Batch[] {
  const len = (e: TokenizedExample) => Math.min(e.inputIds.length, maxLength);
  const order = examples.map((e, i) => ({ e, i })).sort((a, b) => len(b.e) - len(a.e) || a.i - b.i);
  const out: Batch[] = [];
  let group: TokenizedExample[] = [];
  let T = 0;
  for (const { e, i } of order) {
    const t = len(e);
    if (t > maxTokens) throw new Error(`held-out row ${i + 1} has ${t} tokens, more than the ${maxTokens} tokens an evaluation batch holds`);
    if (group.length && (group.length + 1) * T > maxTokens) {
      out.push(...makeBatches(group, group.length, { maxLength, padTokenId, shuffle: false }));
      group = [];
    }
    if (!group.length) T = t;
    group.push(e);
  }
  if (group.length) out.push(...makeBatches(group, group.length, { maxLength, padTokenId, shuffle: false }));
  return out;
}
