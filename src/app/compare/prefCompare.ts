/**
 * Compare with the DPO stage (issue 17): the preference objective with LoRA trained on Base (Shadow-DPO, grafted onto
 * Instruct) and on Instruct (conventional DPO, reference = Instruct) with the same settings, seed, pair order and
 * initialisation, then five models measured on the held-out pairs: Instruct, Instruct + DPO, Instruct + Shadow-DPO
 * graft, Base, Base + DPO — the preference accuracy, mean reward margin and chosen/rejected log-probs (rewards of each
 * model against its own model without the adapter: train/prefEval.ts), plus the SFT Compare's measures on the chosen
 * answers (held-out loss on chosen, greedy answers, exact match, the regex check), so the same verdict rules apply.
 * Runs in the worker and in Node like runCompare. (Not yet wired to the Compare panel or `shadowft compare`.)
 */
import type { Conversation, PreferenceBatch } from '../../io/dataset/types';
import { makePreferenceBatches, type TokenizedPairRows } from '../../io/dataset/prefBatches';
import { createActivations } from '../../engine/model/activations';
import { loraParamsFromAdapter } from '../../engine/model/loraFromAdapter';
import type { LoraAdapter } from '../../engine/model/loraTypes';
import { destroyGpuModel, makeGpuModel } from '../../engine/model/model';
import { loadModelWeights } from '../../engine/model/weights';
import type { PrefMetrics } from '../../engine/train/prefLoss';
import { prefEvalOf, splitLengths, splitLogps, type PrefEvalResult } from '../../engine/train/prefEval';
import { runPreferenceTraining } from '../../engine/train/prefRun';
import { prefOptionsOf } from '../../engine/train/prefSettings';
import { runCompare, type CompareJob, type CompareOutcome, type CompareSide } from './runCompare';
import type { CompareModel, CompareRun, PerModel } from './types';

/** A DPO comparison job: {@link CompareJob} with preference pairs instead of SFT examples. */
export interface PrefCompareJob extends Omit<CompareJob, 'train' | 'heldout' | 'heldoutConversations'> {
  readonly train: readonly TokenizedPairRows[];
  readonly heldout: readonly TokenizedPairRows[];
  /** the held-out pairs as conversations (prompt + chosen answer), in file order: prompts and references */
  readonly heldoutConversations: readonly Conversation[];
}

/** The outcome: the SFT Compare's (on the chosen answers) plus the preference measures per model. */
export interface PrefCompareOutcome extends CompareOutcome {
  readonly preference: PerModel<(PrefEvalResult & { readonly metrics: PrefMetrics }) | null>;
}

/** Per-pair log-probs of the held-out batches for the bare model and each adapter, on one checkpoint. */
async function sideMeasures(job: PrefCompareJob, side: CompareSide, batches: readonly PreferenceBatch[], variants: readonly { model: CompareModel; adapter: LoraAdapter | null }[]): Promise<Map<CompareModel, PrefEvalResult>> {
  const { ctx } = job;
  const out = new Map<CompareModel, PrefEvalResult>();
  const lengths = splitLengths(batches);
  const pref = prefOptionsOf(job.settings);
  const B = Math.max(2, ...batches.map((b) => b.batchSize));
  const T = Math.max(1, ...batches.map((b) => b.seqLen));
  const model = makeGpuModel(side.config, await loadModelWeights(ctx, side.config, side.checkpoint));
  const acts = createActivations(ctx, side.config, B, T, job.settings.lora.r, job.settings.lora.targetModules, { withBackward: false });
  try {
    const reference = await splitLogps(ctx, model, acts, null, batches, job.signal);
    if (!reference) throw job.signal?.reason ?? new Error('cancelled');
    for (const v of variants) {
      const lora = v.adapter ? loraParamsFromAdapter(ctx, side.config, v.adapter) : null;
      try {
        const policy = lora ? await splitLogps(ctx, model, acts, lora, batches, job.signal) : reference;
        if (!policy) throw job.signal?.reason ?? new Error('cancelled');
        out.set(v.model, prefEvalOf(policy, reference, lengths, pref));
      } finally {
        lora?.destroy();
      }
    }
  } finally {
    acts.destroy();
    destroyGpuModel(model);
  }
  return out;
}

/**
 * Runs the DPO comparison: both preference runs, then runCompare's five-model evaluation on the chosen answers with
 * the two DPO adapters (its own training is replaced by the adapters given), then the preference measures.
 * @throws Error when there are no held-out pairs or the stage is not dpo; everything runCompare and
 *   runPreferenceTraining throw; the signal's reason when cancelled
 */
export async function runPreferenceCompare(job: PrefCompareJob): Promise<PrefCompareOutcome> {
  const s = job.settings;
  if (s.stage !== 'dpo') throw new Error('runPreferenceCompare needs stage dpo');
  if (job.heldout.length === 0) throw new Error('Compare needs held-out preference pairs: drop or tick a preference file whose name marks it as held-out.');
  const adapters: Partial<Record<CompareRun, LoraAdapter>> = {};
  const steps: Partial<Record<CompareRun, number>> = {};
  const losses: Record<CompareRun, number[]> = { shadow: [], conventional: [] };
  for (const [run, side] of [['shadow', job.base], ['conventional', job.instruct]] as const) {
    job.onEvent({ status: 'compare-message', message: `training DPO LoRA on ${side.name} (${run === 'shadow' ? 'Shadow-DPO' : 'conventional DPO'})` });
    const r = await runPreferenceTraining({
      ctx: job.ctx, config: side.config, base: side.checkpoint, train: job.train, settings: s, padTokenId: job.tok.padTokenId,
      onEvent: (event) => {
        if (event.status === 'step') losses[run].push(event.loss);
        job.onEvent({ status: 'compare-train', run, event });
      },
      ...(job.signal ? { signal: job.signal } : {}), ...(job.budgetBytes !== undefined ? { budgetBytes: job.budgetBytes } : {}),
    });
    job.signal?.throwIfAborted();
    if (r.status !== 'complete') throw new DOMException(`training stopped after ${r.steps} of ${r.totalSteps} steps`, 'AbortError');
    adapters[run] = r.adapter;
    steps[run] = r.steps;
  }
  const sft = await runCompare({
    ...job, train: [], heldout: job.heldout.map((p) => p.chosen), heldoutConversations: job.heldoutConversations, settings: { ...s, stage: 'sft' },
    trained: { shadow: { adapter: adapters.shadow as LoraAdapter, steps: steps.shadow ?? 0, losses: losses.shadow }, conventional: { adapter: adapters.conventional as LoraAdapter, steps: steps.conventional ?? 0, losses: losses.conventional } },
  });
  const batches = makePreferenceBatches(job.heldout, s.batchSize, { maxLength: s.maxLength, padTokenId: job.tok.padTokenId, shuffle: false });
  const onBase = await sideMeasures(job, job.base, batches, [{ model: 'base', adapter: null }, { model: 'base_lora', adapter: adapters.shadow ?? null }]);
  const onInstruct = await sideMeasures(job, job.instruct, batches, [
    { model: 'instruct', adapter: null }, { model: 'instruct_conventional', adapter: adapters.conventional ?? null }, { model: 'instruct_shadow', adapter: adapters.shadow ?? null },
  ]);
  const all = new Map([...onBase, ...onInstruct]);
  const preference = Object.fromEntries(['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'].map((m) => [m, all.get(m as CompareModel) ?? null])) as PrefCompareOutcome['preference'];
  return { ...sft, result: { ...sft.result, settings: s, train_examples: job.train.length }, preference };
}
