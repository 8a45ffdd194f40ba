/**
 * Held-out preference metrics (stage dpo): for a model with an adapter, the policy log-probs of every held-out pair
 * against the SAME model without the adapter as reference (TRL/LLaMA-Factory's LoRA reference), through
 * preferenceLoss: the loss, preference accuracy (implicit reward r = β(π − ref) of chosen > rejected), mean reward
 * margin and mean chosen/rejected log-probs (LLaMA-Factory's rewards/accuracies, rewards/margins, logps/chosen,
 * logps/rejected).
 */
import type { PreferenceBatch } from '../../io/dataset/types';
import type { GpuContext } from '../gpu/context';
import type { Activations } from '../model/activations';
import type { LoraParams } from '../model/lora';
import type { GpuModel } from '../model/model';
import { preferenceLoss, type PrefLossOptions, type PrefMetrics } from './prefLoss';
import { sequenceLogps, splitPairs, type PairLogps } from './prefStep';

/** Per-pair log-probs of a whole split, f64 [N] each, in batch order. */
export interface SplitLogps {
  readonly chosen: Float64Array;
  readonly rejected: Float64Array;
}

/**
 * Log-probs of every pair of `batches` with `lora` (null = the model alone, i.e. the reference), in batch order.
 * @param onProgress after each batch; @returns null when the signal aborted
 */
export async function splitLogps(ctx: GpuContext, model: GpuModel, acts: Activations, lora: LoraParams | null, batches: readonly PreferenceBatch[], signal?: AbortSignal, onProgress?: (batch: number, batches: number) => void): Promise<SplitLogps | null> {
  const parts: PairLogps[] = [];
  for (const [i, b] of batches.entries()) {
    if (signal?.aborted) return null;
    parts.push(splitPairs(await sequenceLogps(ctx, model, acts, lora, b), b.pairs));
    onProgress?.(i + 1, batches.length);
  }
  const cat = (k: 'chosen' | 'rejected') => Float64Array.from(parts.flatMap((p) => [...p[k]]));
  return { chosen: cat('chosen'), rejected: cat('rejected') };
}

/** Labelled-token counts of chosen and rejected of every pair of `batches`, in batch order. */
export function splitLengths(batches: readonly PreferenceBatch[]): { chosen: Int32Array; rejected: Int32Array } {
  const c: number[] = [];
  const r: number[] = [];
  for (const b of batches) {
    c.push(...b.labelCounts.slice(0, b.pairs));
    r.push(...b.labelCounts.slice(b.pairs, 2 * b.pairs));
  }
  return { chosen: Int32Array.from(c), rejected: Int32Array.from(r) };
}

/** Held-out preference result of one model. */
export interface PrefEvalResult {
  readonly loss: number;
  readonly metrics: PrefMetrics;
}

/**
 * Metrics of `policy` against `reference` (the same model without the adapter); reference = policy for a model
 * without an adapter (every reward 0: accuracy 0, margin 0).
 * @throws Error from preferenceLoss (e.g. orpo on a per-token mean log-prob ≥ 0)
 */
export function prefEvalOf(policy: SplitLogps, reference: SplitLogps, lengths: { chosen: Int32Array; rejected: Int32Array }, pref: PrefLossOptions): PrefEvalResult {
  const r = preferenceLoss({ policyChosen: policy.chosen, policyRejected: policy.rejected, referenceChosen: reference.chosen, referenceRejected: reference.rejected, chosenLengths: lengths.chosen, rejectedLengths: lengths.rejected }, pref);
  return { loss: r.loss, metrics: r.metrics };
}

/** The metrics and loss as log text: "accuracy 75.0%, margin 0.1234, log-probs chosen … / rejected …, loss 0.6931". */
export function prefMetricsText(m: PrefMetrics, loss: number): string {
  return `accuracy ${(100 * m.accuracy).toFixed(1)}%, margin ${m.margin.toFixed(4)}, log-probs chosen ${m.logpsChosen.toFixed(3)} / rejected ${m.logpsRejected.toFixed(3)}, loss ${loss.toFixed(4)}`;
}

/** One log line (CLI, run log) for a 'pref-eval' event's values. */
export function prefEvalLine(e: { readonly model: string; readonly when: string; readonly metrics: PrefMetrics; readonly loss: number }): string {
  return `held-out preference metrics of ${e.model} ${e.when} training: ${prefMetricsText(e.metrics, e.loss)}`;
}
