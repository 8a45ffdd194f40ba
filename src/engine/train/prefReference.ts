/**
 * The reference log-probs of a stage-dpo run's training pairs (the model with the adapter off; TRL DPOTrainer /
 * LLaMA-Factory with LoRA use `disable_adapter()` as the reference model), for only the pairs the step plan uses:
 * with --max-steps below an epoch most pairs are never seen, and the plan is a pure function of the pairs and the
 * settings (shuffle seed = seed + epoch, prefRun.ts planPrefSteps), so the pairs it uses are known before step 1.
 * Stored per training pair (f64 [N], NaN for a pair the plan never uses) in the run's checkpoint.
 */
import type { PreferenceBatch } from '../../io/dataset/types';
import { makePreferenceBatches, type TokenizedPairRows } from '../../io/dataset/prefBatches';
import type { PairLogps } from './prefStep';
import type { SplitLogps } from './prefEval';

/** Indices (0-based, ascending) of the training pairs the micro-batches of `plan` use. @throws Error for a batch without pairIndex */
export function plannedPairs(plan: readonly (readonly PreferenceBatch[])[]): number[] {
  const used = new Set<number>();
  for (const b of plan.flat()) {
    if (!b.pairIndex) throw new Error('preference batch without pairIndex');
    for (const i of b.pairIndex) used.add(i);
  }
  return [...used].sort((a, b) => a - b);
}

/**
 * Micro-batches of `pairsPerBatch` of the pairs `which` (in that order, no shuffle) for the reference pass, their
 * pairIndex naming positions in `train`.
 * @throws makePreferenceBatches' errors (naming the pair)
 */
export function referenceBatches(train: readonly TokenizedPairRows[], which: readonly number[], pairsPerBatch: number, opts: { maxLength: number; padTokenId: number }): PreferenceBatch[] {
  const rows = which.map((i) => train[i] as TokenizedPairRows);
  return makePreferenceBatches(rows, pairsPerBatch, { ...opts, shuffle: false }).map((b) => ({ ...b, pairIndex: Int32Array.from(b.pairIndex ?? [], (j) => which[j] as number) }));
}

/**
 * The reference of all N training pairs from the per-batch log-probs of {@link referenceBatches}: f64 [N] each,
 * NaN where no batch had the pair. @throws Error when batches and parts differ in length
 */
export function assembleReference(n: number, batches: readonly PreferenceBatch[], parts: readonly PairLogps[]): SplitLogps {
  if (batches.length !== parts.length) throw new Error(`reference: ${parts.length} results for ${batches.length} batches`);
  const chosen = new Float64Array(n).fill(NaN);
  const rejected = new Float64Array(n).fill(NaN);
  batches.forEach((b, k) => {
    const p = parts[k] as PairLogps;
    (b.pairIndex ?? []).forEach((i, j) => {
      chosen[i] = p.chosen[j] as number;
      rejected[i] = p.rejected[j] as number;
    });
  });
  return { chosen, rejected };
}

/**
 * Checks that a resumed checkpoint's reference has one value per training pair and a finite one for every pair the
 * plan uses. @throws Error naming the first pair (1-based) without one, and what to do
 */
export function checkReference(ref: SplitLogps | undefined, n: number, planned: readonly number[]): void {
  if (!ref || ref.chosen.length !== n || ref.rejected.length !== n) throw new Error(`the checkpoint has no reference log-probs for the ${n} training pairs (it has ${ref?.chosen.length ?? 0}); start a new run`);
  for (const i of planned) {
    if (!Number.isFinite(ref.chosen[i] as number) || !Number.isFinite(ref.rejected[i] as number)) throw new Error(`the checkpoint has no reference log-probs for training pair ${i + 1} (${ref.chosen[i]}, ${ref.rejected[i]}), which the run uses; start a new run`);
  }
}
