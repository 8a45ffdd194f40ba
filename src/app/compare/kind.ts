/**
 * The one home of "what a Compare run trains and which five models it evaluates", chosen from the settings' `stage`
 * (LLaMA-Factory `stage`: sft | dpo) and `finetuningType` (LLaMA-Factory `finetuning_type`: lora | full):
 *
 * | kind      | runs (shadow on Base, conventional on Instruct) | instruct_conventional | instruct_shadow            | base_lora      |
 * |-----------|--------------------------------------------------|-----------------------|----------------------------|----------------|
 * | sft+lora  | LoRA, next-token loss (engine/train/run.ts)      | Instruct + adapter    | Instruct + Base's adapter  | Base + adapter |
 * | dpo+lora  | LoRA, preference loss (engine/train/prefRun.ts)  | Instruct + adapter    | Instruct + Base's adapter  | Base + adapter |
 * | sft+full  | every weight (engine/train/runFull.ts)           | W_I″ (f32)            | W_I + (W_B′ − W_B), rounded once to the Instruct's dtype | W_B′ (f32) |
 *
 * A LoRA model is its checkpoint with the adapter applied on the fly (PEFT semantics, W + s·B·A); a full model is an
 * in-memory checkpoint (compare/fullWeights.ts). Shadow-FT §3.1 for the graft in both forms. DPO with full is refused.
 */
import type { Checkpoint } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import type { LoraAdapter } from '../../engine/model/loraTypes';
import type { FinetuningType, TrainSettings, TrainStage } from '../../engine/train/types';
import { CompareError } from './metrics';
import { COMPARE_MODEL_LABELS, COMPARE_MODELS, type CompareModel, type CompareRun, type PerModel } from './types';

/** What both runs of a comparison train. */
export interface CompareKind {
  readonly stage: TrainStage;
  readonly finetuningType: FinetuningType;
}

/** One model of the pair as the comparison uses it. */
export interface CompareSide {
  readonly name: string;
  readonly config: ModelConfig;
  readonly checkpoint: Checkpoint;
}

/** The in-memory checkpoints of a full comparison (compare/fullWeights.ts). */
export interface FullCompareWeights {
  /** W_B′: the Base after full tuning, F32 */
  readonly tunedBase: Checkpoint;
  /** W_I″: the Instruct after full tuning (conventional), F32 */
  readonly tunedInstruct: Checkpoint;
  /** W_I + (W_B′ − W_B) in the Instruct's dtypes, one rounding (as engine/graft/graftTuned.ts writes it) */
  readonly graft: Checkpoint;
}

/** What the two runs produced: two LoRA adapters, or the full comparison's checkpoints. */
export type TrainedRuns =
  | { readonly finetuningType: 'lora'; readonly adapters: Readonly<Record<CompareRun, LoraAdapter>> }
  | { readonly finetuningType: 'full'; readonly weights: FullCompareWeights };

/** How one of the five models is built: a checkpoint (with its config) and an adapter on it, or none. */
export interface ModelSource {
  readonly config: ModelConfig;
  readonly checkpoint: Checkpoint;
  readonly adapter: LoraAdapter | null;
}

/**
 * The kind of a comparison with these settings (absent stage = sft, absent finetuningType = lora).
 * @throws CompareError naming both settings for stage dpo with finetuning_type full (preference training is LoRA only)
 */
export function compareKindOf(s: Pick<TrainSettings, 'stage' | 'finetuningType'>): CompareKind {
  const kind: CompareKind = { stage: s.stage ?? 'sft', finetuningType: s.finetuningType ?? 'lora' };
  if (kind.stage === 'dpo' && kind.finetuningType === 'full') {
    throw new CompareError('Stage DPO with Fine-tuning type full: preference training (stage dpo) trains LoRA only; choose Fine-tuning type LoRA, or Stage SFT for a full-parameter comparison.');
  }
  return kind;
}

const LABELS: Readonly<Record<'dpo' | 'full', PerModel<string>>> = {
  dpo: { instruct: 'Instruct', instruct_conventional: 'Instruct + DPO', instruct_shadow: 'Instruct + Shadow-DPO graft', base: 'Base', base_lora: 'Base + DPO' },
  full: { instruct: 'Instruct', instruct_conventional: 'Instruct, fully tuned', instruct_shadow: 'Instruct + Shadow-FT graft (full)', base: 'Base', base_lora: 'Tuned Base' },
};

/** How each model is named in tables and sentences for a kind (absent fields as {@link compareKindOf}). */
export function compareModelLabels(kind: { readonly stage?: TrainStage | undefined; readonly finetuningType?: FinetuningType | undefined }): PerModel<string> {
  if (kind.stage === 'dpo') return LABELS.dpo;
  if (kind.finetuningType === 'full') return LABELS.full;
  return COMPARE_MODEL_LABELS;
}

/** The labels of a comparison's result (its stage and finetuning_type; absent in older results = SFT LoRA). */
export function resultLabels(r: { readonly stage?: TrainStage; readonly finetuning_type?: FinetuningType }): PerModel<string> {
  return compareModelLabels({ stage: r.stage, finetuningType: r.finetuning_type });
}

/** A run's name in messages: Shadow-FT / Shadow-DPO on Base, conventional (DPO) on Instruct, "full" when full. */
export function runLabel(kind: CompareKind, run: CompareRun): string {
  const what = kind.stage === 'dpo' ? 'DPO' : kind.finetuningType === 'full' ? 'full-parameter' : 'LoRA';
  return run === 'shadow' ? `${what} on Base (Shadow-${kind.stage === 'dpo' ? 'DPO' : 'FT'})` : `${what} on Instruct (conventional)`;
}

/** The five models of a comparison, each as a checkpoint and an optional adapter (see the file comment's table). */
export function modelSources(base: CompareSide, instruct: CompareSide, trained: TrainedRuns): PerModel<ModelSource> {
  const on = (side: CompareSide, adapter: LoraAdapter | null): ModelSource => ({ config: side.config, checkpoint: side.checkpoint, adapter });
  if (trained.finetuningType === 'lora') {
    const a = trained.adapters;
    return { instruct: on(instruct, null), instruct_conventional: on(instruct, a.conventional), instruct_shadow: on(instruct, a.shadow), base: on(base, null), base_lora: on(base, a.shadow) };
  }
  const w = trained.weights;
  const full = (side: CompareSide, checkpoint: Checkpoint): ModelSource => ({ config: side.config, checkpoint, adapter: null });
  return { instruct: on(instruct, null), instruct_conventional: full(instruct, w.tunedInstruct), instruct_shadow: full(instruct, w.graft), base: on(base, null), base_lora: full(base, w.tunedBase) };
}

/** Models that share a checkpoint, so it is uploaded once for all of them (first appearance order). */
export interface CheckpointGroup {
  readonly config: ModelConfig;
  readonly checkpoint: Checkpoint;
  readonly variants: readonly { readonly model: CompareModel; readonly adapter: LoraAdapter | null }[];
}

/** The five models grouped by checkpoint, bases first (Base, then Instruct, then in-memory checkpoints). */
export function groupByCheckpoint(sources: PerModel<ModelSource>): CheckpointGroup[] {
  const groups = new Map<Checkpoint, { config: ModelConfig; checkpoint: Checkpoint; variants: { model: CompareModel; adapter: LoraAdapter | null }[] }>();
  const order: CompareModel[] = ['base', 'base_lora', ...COMPARE_MODELS.filter((m) => m !== 'base' && m !== 'base_lora')];
  for (const model of order) {
    const s = sources[model];
    const g = groups.get(s.checkpoint) ?? { config: s.config, checkpoint: s.checkpoint, variants: [] };
    g.variants.push({ model, adapter: s.adapter });
    groups.set(s.checkpoint, g);
  }
  return [...groups.values()];
}
