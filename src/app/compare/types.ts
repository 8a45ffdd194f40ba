/**
 * Types of a comparison (issue 9): Shadow-FT (LoRA trained on Base, grafted onto Instruct) against conventional
 * LoRA (trained on Instruct) with identical settings, seed, data order and initialisation, measured on the held-out
 * split for five models. Plain data only (they cross the worker boundary and are written as compare.json).
 */
import type { FinetuningType, TrainSettings, TrainStage } from '../../engine/train/types';

/** The five models a comparison measures (the keys of compare.json's measures). */
export const COMPARE_MODELS = ['instruct', 'instruct_conventional', 'instruct_shadow', 'base', 'base_lora'] as const;
export type CompareModel = (typeof COMPARE_MODELS)[number];

/** How each model is named in tables and sentences. */
export const COMPARE_MODEL_LABELS: Readonly<Record<CompareModel, string>> = {
  instruct: 'Instruct',
  instruct_conventional: 'Instruct + conventional LoRA',
  instruct_shadow: 'Instruct + Shadow-FT graft',
  base: 'Base',
  base_lora: 'Base + LoRA',
};

/** The two training runs of a comparison: LoRA on Base (Shadow-FT) and LoRA on Instruct (conventional). */
export type CompareRun = 'shadow' | 'conventional';

/** What the comparison measures besides the training settings. */
export interface CompareOptions {
  /**
   * JavaScript regular expression (no flags) tested against each greedy answer, trimmed (e.g. `^Title: `).
   * Empty = no check (check_rate is null).
   */
  readonly checkRegex: string;
  /** Greedy generations of the first N held-out prompts (integer ≥ 0; fewer when the split is shorter). */
  readonly evalPrompts: number;
  /** New tokens per greedy answer (integer ≥ 1). */
  readonly maxNewTokens: number;
}

/** Defaults of {@link CompareOptions}: the reference's 30 prompts (shared/models/REFERENCE_RESULTS.md), 64 new tokens. */
export const DEFAULT_COMPARE_OPTIONS: CompareOptions = { checkRegex: '', evalPrompts: 30, maxNewTokens: 64 };

/** One greedy answer of the evaluation. */
export interface CompareAnswer {
  /** 0-based index among the evaluated held-out prompts */
  readonly index: number;
  readonly text: string;
  /** new tokens, the stop token excluded */
  readonly tokens: number;
  /** normalised answer equals the normalised reference (metrics.ts normaliseAnswer) */
  readonly exact: boolean;
  /** the check regex matched; null without a check */
  readonly check: boolean | null;
}

/** Per-model measures; null where nothing was measured (no held-out rows, no prompts, no check). */
export type PerModel<T> = Readonly<Record<CompareModel, T>>;

export type { CompareEvent } from '../progress';

/** The result: what compare.json holds (snake_case measure keys as the issue specifies) plus context. */
export interface CompareResult {
  readonly settings: TrainSettings;
  readonly options: CompareOptions;
  readonly base_model: string;
  readonly instruct_model: string;
  readonly train_examples: number;
  readonly heldout_examples: number;
  /** prompts actually generated for (min(evalPrompts, held-out rows with an answer)) */
  readonly eval_prompts: number;
  readonly steps: Readonly<Record<CompareRun, number>>;
  /** mean NLL (nats / label token) over the held-out split, chat template applied, prompt masked */
  readonly heldout_loss: PerModel<number | null>;
  /** fraction of answers whose normalised text equals the reference's */
  readonly exact_match: PerModel<number | null>;
  /** fraction of answers the check regex matches */
  readonly check_rate: PerModel<number | null>;
  /** mean new tokens per answer (stop token excluded) */
  readonly mean_answer_tokens: PerModel<number | null>;
  /** final training loss (mean of the last 10 steps) of each run */
  readonly final_train_loss: Readonly<Record<CompareRun, number | null>>;
  /** [stage] what both runs trained: 'sft' (next-token loss) or 'dpo' (the preference objective); absent in results saved before it existed = 'sft' */
  readonly stage?: TrainStage;
  /** [finetuning_type] 'lora' (two adapters) or 'full' (every weight); absent in results saved before it existed = 'lora' */
  readonly finetuning_type?: FinetuningType;
  /**
   * Stage dpo: fraction of held-out pairs whose implicit reward of chosen exceeds rejected's, each model's rewards
   * taken against the same model without its tuning (TRL `rewards/accuracies`; engine/train/prefEval.ts), so the
   * untuned Instruct and Base score 0. Null per model for stage sft (absent in results saved before it existed).
   */
  readonly preference_accuracy?: PerModel<number | null>;
  /** Stage dpo: mean over held-out pairs of r_chosen − r_rejected (nats × pref_beta; TRL `rewards/margins`); null for sft. */
  readonly reward_margin?: PerModel<number | null>;
  /** Stage dpo: mean log-prob of the chosen answers as the loss uses them (sums, per-token means for ipo/orpo/simpo); null for sft. */
  readonly chosen_logps?: PerModel<number | null>;
  /** Stage dpo: mean log-prob of the rejected answers (as chosen_logps); null for sft. */
  readonly rejected_logps?: PerModel<number | null>;
}

/** The preference measures of {@link CompareResult}, in table and CSV order. */
export const PREFERENCE_MEASURES = ['preference_accuracy', 'reward_margin', 'chosen_logps', 'rejected_logps'] as const;
export type PreferenceMeasure = (typeof PREFERENCE_MEASURES)[number];
