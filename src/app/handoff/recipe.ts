/**
 * The studio's training settings as LLaMA-Factory YAML recipes (the paper's runs use LLaMA-Factory): one LoRA (or
 * full) SFT on the Base with the Instruct's chat template — the Shadow-FT run — and the same on the Instruct — the
 * conventional run to compare with — plus the mergekit task_arithmetic config that grafts the tuned Base, full or
 * LoRA (W_I + (W_B′ − W_B), dtype float32, one rounding to the Instruct's dtype).
 * Every key written is checked against llamafactoryKeys.json (LLaMA-Factory's argument dataclasses and the
 * transformers TrainingArguments fields it inherits, with their sources); a key outside that list throws.
 * Mapping (studio → LLaMA-Factory): r → lora_rank, α → lora_alpha, dropout → lora_dropout, rsLoRA → use_rslora,
 * target modules → lora_target (comma list), Max length → cutoff_len, batch → per_device_train_batch_size,
 * accumulation → gradient_accumulation_steps, epochs / max steps → num_train_epochs / max_steps, warmup ratio →
 * warmup_steps = ceil(total · ratio) for one device (transformers deprecates warmup_ratio; an integer works in
 * 4.x and 5.x), AdamW β/ε → adam_beta1/adam_beta2/adam_epsilon, cosine → lr_scheduler_type.
 */
import type { WeightDType } from '../../io/dtype';
import { warmupSteps } from '../../engine/train/schedule';
import type { TrainSettings } from '../../engine/train/types';
import KEYS from './llamafactoryKeys.json';
import { prefOptionsOf, stageOf } from '../../engine/train/prefSettings';

/** Thrown when a recipe cannot be written faithfully (unknown template, missing chat template, bad key). */
export class HandoffError extends Error {
  override name = 'HandoffError';
}

/** Every key a LLaMA-Factory training YAML may hold, per llamafactoryKeys.json. */
export const LLAMAFACTORY_KEYS: ReadonlySet<string> = new Set([...KEYS.model_args, ...KEYS.data_args, ...KEYS.finetuning_args, ...KEYS.training_args, ...KEYS.transformers_training_args]);

/** LLaMA-Factory's registered template names (data/template.py register_template). */
export const LLAMAFACTORY_TEMPLATES: ReadonlySet<string> = new Set(KEYS.templates);

/** Dataset names used in data/dataset_info.json. */
export const TRAIN_DATASET = 'shadowft_train';
export const HELDOUT_DATASET = 'shadowft_heldout';

/** What a recipe needs to know about the run. */
export interface RecipeInput {
  /** model_name_or_path of the Shadow-FT run (the Base, or a Base copy carrying the Instruct's tokenizer files). */
  readonly baseModel: string;
  /** model_name_or_path of the conventional run and the mergekit model (the Instruct). */
  readonly instructModel: string;
  /** The Base as mergekit's base_model. */
  readonly baseForMerge: string;
  readonly settings: TrainSettings;
  readonly finetuningType: 'lora' | 'full';
  /** Training conversations (for the step count behind warmup_steps). */
  readonly numTrainExamples: number;
  readonly hasHeldout: boolean;
  /** The Instruct's stored weight dtype (bf16 / fp16 mixed precision; mergekit out_dtype). */
  readonly dtype: WeightDType;
  /** A registered template the user vouches renders like the Instruct's chat template; undefined = left out. */
  readonly template?: string;
  /** Optional DeepSpeed config path (e.g. LLaMA-Factory's examples/deepspeed/ds_z3_config.json). */
  readonly deepspeed?: string;
  /** Default 10 and 500. */
  readonly loggingSteps?: number;
  readonly saveSteps?: number;
}

/** Optimizer steps of the run on one device, as the studio's trainer counts them (train/run.ts planSteps). */
export function totalSteps(s: TrainSettings, numExamples: number): number {
  if (s.maxSteps > 0) return s.maxSteps;
  return Math.ceil(Math.ceil(numExamples / s.batchSize) / s.gradAccum) * s.epochs;
}

/** Output folder (relative to the export folder) of the Shadow-FT run. */
export const shadowOutputDir = (t: 'lora' | 'full'): string => `saves/shadow_base_${t}`;
/** Output folder of the conventional run. */
export const conventionalOutputDir = (t: 'lora' | 'full'): string => `saves/conventional_instruct_${t}`;

/**
 * Checks every key of a recipe against {@link LLAMAFACTORY_KEYS}.
 * @throws HandoffError naming the first unknown key.
 */
export function checkRecipeKeys(recipe: Record<string, unknown>, file: string): void {
  for (const k of Object.keys(recipe)) if (!LLAMAFACTORY_KEYS.has(k)) throw new HandoffError(`${file}: ${k} is not a LLaMA-Factory argument (llamafactoryKeys.json)`);
}

/**
 * One training recipe (plain object in the order the YAML lists it).
 * @param which 'shadow' trains the Base, 'conventional' the Instruct.
 * @throws HandoffError for a template LLaMA-Factory does not register, or an unknown key.
 */
export function trainRecipe(input: RecipeInput, which: 'shadow' | 'conventional'): Record<string, unknown> {
  const s = input.settings;
  if (input.template !== undefined && !LLAMAFACTORY_TEMPLATES.has(input.template)) {
    throw new HandoffError(`LLaMA-Factory has no template "${input.template}" (registered: ${[...LLAMAFACTORY_TEMPLATES].slice(0, 12).join(', ')}, …); leave it out to use the tokenizer's chat template`);
  }
  const t = input.finetuningType;
  const r: Record<string, unknown> = {
    model_name_or_path: which === 'shadow' ? input.baseModel : input.instructModel,
    stage: stageOf(s),
    do_train: true,
    finetuning_type: t,
  };
  if (stageOf(s) === 'dpo') {
    const pref = prefOptionsOf(s);
    Object.assign(r, { pref_beta: pref.beta, pref_loss: pref.lossType, pref_ftx: pref.ftx });
  }
  if (t === 'lora') {
    Object.assign(r, { lora_rank: s.lora.r, lora_alpha: s.lora.alpha, lora_dropout: s.lora.dropout, lora_target: s.lora.targetModules.join(','), use_rslora: s.lora.useRslora });
  }
  r.dataset = TRAIN_DATASET;
  r.dataset_dir = 'data';
  if (input.template !== undefined) r.template = input.template;
  r.cutoff_len = s.maxLength;
  if (input.hasHeldout) r.eval_dataset = HELDOUT_DATASET;
  r.output_dir = which === 'shadow' ? shadowOutputDir(t) : conventionalOutputDir(t);
  // Save (and evaluate) every 500 steps, or at least once: a run shorter than 500 steps gets its total as the interval.
  const every = input.saveSteps ?? Math.max(1, Math.min(500, totalSteps(s, input.numTrainExamples)));
  Object.assign(r, { logging_steps: input.loggingSteps ?? 10, save_steps: every, plot_loss: true, overwrite_output_dir: true, report_to: 'none' });
  Object.assign(r, {
    per_device_train_batch_size: s.batchSize,
    gradient_accumulation_steps: s.gradAccum,
    learning_rate: s.learningRate,
    num_train_epochs: s.epochs,
  });
  if (s.maxSteps > 0) r.max_steps = s.maxSteps;
  Object.assign(r, {
    lr_scheduler_type: 'cosine',
    warmup_steps: warmupSteps(totalSteps(s, input.numTrainExamples), s.warmupRatio),
    weight_decay: s.weightDecay,
    max_grad_norm: s.maxGradNorm,
    adam_beta1: s.beta1,
    adam_beta2: s.beta2,
    adam_epsilon: s.adamEps,
    seed: s.seed,
  });
  if (input.dtype === 'BF16') r.bf16 = true;
  else if (input.dtype === 'F16') r.fp16 = true;
  if (input.hasHeldout) Object.assign(r, { per_device_eval_batch_size: s.batchSize, eval_strategy: 'steps', eval_steps: every });
  if (input.deepspeed) r.deepspeed = input.deepspeed;
  checkRecipeKeys(r, which === 'shadow' ? 'train_shadow_base.yaml' : 'train_conventional_instruct.yaml');
  return r;
}

/**
 * The mergekit-yaml options a graft needs besides the config: mergekit refuses a `BASE+ADAPTER` reference without
 * --lora-merge-cache (where it saves the Base with the adapter merged by PEFT), and merges in the Base's dtype (a
 * BF16 rounding of W_B + s·B·A before the subtraction) unless --lora-merge-dtype float32.
 */
export function mergekitOptions(finetuningType: 'lora' | 'full'): string {
  return finetuningType === 'lora' ? '--lora-merge-cache lora-merge-cache --lora-merge-dtype float32' : '';
}

/** mergekit's name of a weight dtype. */
export function mergekitDtype(d: WeightDType): 'bfloat16' | 'float16' | 'float32' {
  return d === 'BF16' ? 'bfloat16' : d === 'F16' ? 'float16' : 'float32';
}

/**
 * The mergekit config grafting the tuned Base: task_arithmetic computes base_model + Σ wᵢ·(Mᵢ − base_model); with
 * base_model = the Instruct, the tuned Base at weight 1 and the Base at weight −1 (normalize false) that is
 * W_I + (W_B′ − W_I) − (W_B − W_I) = W_I + (W_B′ − W_B), in float32, written in the Instruct's dtype (mergekit
 * `merge_methods/generalized_task_arithmetic.py`). base_model is the Instruct because mergekit copies config.json,
 * the tokenizer, the chat template and generation_config.json from it: the graft must carry the Instruct's.
 * A LoRA run's output is an adapter folder, which mergekit cannot load as a model; its `BASE+ADAPTER` reference
 * (mergekit `common.py` ModelReference.parse) applies the adapter to the Base first (see mergekitOptions).
 * A relative tuned path is written `./saves/…`: mergekit's model card asks the Hub whether a path with a single `/`
 * names a repo (`card.py` is_hf), which fails offline after the weights are written and before the tokenizer is copied.
 * @param tunedModel path of the Shadow-FT run's output_dir (a full tuned Base, or the LoRA adapter folder).
 * @param finetuningType 'lora' writes the tuned model as `BASE+ADAPTER`.
 */
export function mergekitRecipe(input: Pick<RecipeInput, 'baseForMerge' | 'instructModel' | 'dtype'>, tunedModel: string, finetuningType: 'lora' | 'full'): Record<string, unknown> {
  const local = tunedModel.startsWith('/') || tunedModel.startsWith('./') || tunedModel.startsWith('../') ? tunedModel : `./${tunedModel}`;
  const tuned = finetuningType === 'lora' ? `${input.baseForMerge}+${local}` : local;
  return {
    merge_method: 'task_arithmetic',
    base_model: input.instructModel,
    models: [
      { model: tuned, parameters: { weight: 1.0 } },
      { model: input.baseForMerge, parameters: { weight: -1.0 } },
    ],
    parameters: { normalize: false },
    dtype: 'float32',
    out_dtype: mergekitDtype(input.dtype),
  };
}
