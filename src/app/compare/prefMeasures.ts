/**
 * The preference measures of a DPO comparison (issue 17): for each of the five models, the held-out pairs' log-probs
 * of chosen and rejected (engine/train/prefEval.ts splitLogps) and the implicit rewards against the same checkpoint
 * without the adapter (TRL / LLaMA-Factory: the reference of a LoRA policy is its own model with the adapter off) —
 * so the bare Instruct and Base score accuracy 0 and margin 0 — giving preference accuracy, reward margin and the
 * mean chosen / rejected log-probs (prefEvalOf). Each checkpoint is uploaded once for all of its models.
 */
import type { PreferenceBatch } from '../../io/dataset/types';
import { createActivations } from '../../engine/model/activations';
import { loraParamsFromAdapter } from '../../engine/model/loraFromAdapter';
import { destroyGpuModel, makeGpuModel } from '../../engine/model/model';
import { loadModelWeights } from '../../engine/model/weights';
import type { GpuContext } from '../../engine/gpu/context';
import { prefEvalOf, splitLengths, splitLogps, type PrefEvalResult } from '../../engine/train/prefEval';
import { prefOptionsOf } from '../../engine/train/prefSettings';
import type { TrainSettings } from '../../engine/train/types';
import type { CheckpointGroup } from './kind';
import type { CompareEvent, CompareModel } from './types';

/**
 * Measures every model of `groups` on the held-out preference batches (makePreferenceBatches, unshuffled).
 * @param settings the comparison's settings (pref_beta, pref_loss, pref_ftx; LoRA rank for the activations)
 * @throws the signal's reason when cancelled; loading errors (WeightShapeError, DeviceLimitError); preferenceLoss's
 *   errors (e.g. orpo on a per-token mean log-prob ≥ 0)
 */
export async function preferenceMeasures(ctx: GpuContext, groups: readonly CheckpointGroup[], batches: readonly PreferenceBatch[], settings: TrainSettings, onEvent: (e: CompareEvent) => void, signal?: AbortSignal): Promise<Map<CompareModel, PrefEvalResult>> {
  const out = new Map<CompareModel, PrefEvalResult>();
  const lengths = splitLengths(batches);
  const pref = prefOptionsOf(settings);
  const B = Math.max(2, ...batches.map((b) => b.batchSize));
  const T = Math.max(1, ...batches.map((b) => b.seqLen));
  for (const g of groups) {
    onEvent({ status: 'compare-message', message: `preference log-probs of ${g.variants.length} model(s) on ${g.checkpoint.modelName}` });
    const withLora = g.variants.find((v) => v.adapter)?.adapter ?? null;
    const model = makeGpuModel(g.config, await loadModelWeights(ctx, g.config, g.checkpoint));
    const acts = createActivations(ctx, g.config, B, T, withLora?.settings.r ?? 0, withLora?.settings.targetModules ?? [], { withBackward: false });
    try {
      const reference = await splitLogps(ctx, model, acts, null, batches, signal);
      if (!reference) throw signal?.reason ?? new DOMException('cancelled', 'AbortError');
      for (const v of g.variants) {
        const lora = v.adapter ? loraParamsFromAdapter(ctx, g.config, v.adapter) : null;
        try {
          const policy = lora ? await splitLogps(ctx, model, acts, lora, batches, signal) : reference;
          if (!policy) throw signal?.reason ?? new DOMException('cancelled', 'AbortError');
          out.set(v.model, prefEvalOf(policy, reference, lengths, pref));
        } finally {
          lora?.destroy();
        }
      }
    } finally {
      acts.destroy();
      destroyGpuModel(model);
    }
  }
  return out;
}
