/**
 * Training settings and progress events (a discriminated union on `status`); the LoRA types live in
 * model/loraTypes.ts.
 * Defaults follow the Shadow-FT recipe (LLaMA-Factory): LoRA on all decoder linears, α = 2r, cosine with 10% warmup,
 * AdamW (torch semantics), clip 1.0 — see shared/DESIGN.md "The math we implement".
 */
import type { LoraSettings } from '../model/loraTypes';
import type { PrefLossType, PrefMetrics } from './prefLoss';

/**
 * What a run trains (LLaMA-Factory `stage`): 'sft' = next-token loss on conversations; 'dpo' = a preference objective
 * on chosen/rejected pairs (pref_loss, train/prefLoss.ts), the reference being the same model with the adapter off.
 */
export type TrainStage = 'sft' | 'dpo';

/** Optimisation settings. */
export interface TrainSettings {
  readonly lora: LoraSettings;
  readonly learningRate: number;
  readonly epochs: number;
  /** 0 = run all epochs */
  readonly maxSteps: number;
  /** micro-batch size B */
  readonly batchSize: number;
  readonly gradAccum: number;
  /** T: examples are cut to this many tokens */
  readonly maxLength: number;
  /** fraction of total optimizer steps used for linear warmup */
  readonly warmupRatio: number;
  readonly weightDecay: number;
  /** global-norm clipping threshold; 0 disables */
  readonly maxGradNorm: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly adamEps: number;
  /** seed for LoRA init, shuffling and dropout */
  readonly seed: number;
  /**
   * Activation recomputation (gradient checkpointing, HF `gradient_checkpointing`): keep only each layer's input
   * residual and re-run the layer's forward before its backward — about one extra forward of the decoder per step
   * for activation memory ≈ 1/L (src/engine/plan/memory.ts shows both).
   */
  readonly recompute: boolean;
  /**
   * Options passed to the Instruct chat template when the data is rendered (transformers `apply_chat_template(**kwargs)`,
   * e.g. {"enable_thinking": false} for Qwen3). Absent = {} (the template's own defaults).
   */
  readonly chatTemplateKwargs?: Readonly<Record<string, string | number | boolean | null>>;
  /**
   * Held-out loss of Base + LoRA every this many optimizer steps during training (LLaMA-Factory / HF Trainer
   * `eval_steps` with `eval_strategy: steps`), reported as 'eval-step' events (stage dpo: the preference loss and
   * metrics of the held-out pairs); absent or 0 = only before and after training. Needs held-out data; the last step is never evaluated twice (the after-training loss covers it).
   */
  readonly evalSteps?: number;
  /**
   * Held-out rows a studio run evaluates: the first N of the held-out split (like LLaMA-Factory's `max_samples`, for
   * the held-out split); absent or 0 = chosen so the evaluations stay a modest share of the run (app/heldoutRows.ts).
   * The engine evaluates whatever held-out examples it is given; the studio's use cases apply this.
   */
  readonly heldoutRows?: number;
  /**
   * LLaMA-Factory's finetuning_type: 'lora' (default; the `lora` settings) or 'full' (every weight of the Base in f32
   * with AdamW, train/runFull.ts; the `lora` settings are ignored).
   */
  readonly finetuningType?: FinetuningType;
  /** Full-parameter runs: train embed_tokens (and a tied lm_head); false keeps them frozen (default true). */
  readonly trainEmbeddings?: boolean;
  /** [stage] absent = 'sft'. With 'dpo', batchSize and gradAccum count PAIRS (2 sequences each, LLaMA-Factory). */
  readonly stage?: TrainStage;
  /** [pref_beta] β > 0 of the preference loss (stage dpo); absent = 0.1 */
  readonly prefBeta?: number;
  /** [pref_loss] sigmoid (DPO), hinge, ipo, orpo or simpo (stage dpo); absent = 'sigmoid' */
  readonly prefLoss?: PrefLossType;
  /** [pref_ftx] weight ≥ 0 of the SFT term on the chosen answers (stage dpo); absent = 0 */
  readonly prefFtx?: number;
}

/** LLaMA-Factory's finetuning_type values the studio runs. */
export type FinetuningType = 'lora' | 'full';



/** The models whose held-out loss a run reports. */
export type EvalModel = 'base' | 'base+lora' | 'instruct' | 'instruct+graft';

/**
 * The part of a run a 'preparing' message belongs to (the UI's progress bar and ETA weigh each part):
 * tokenising the data, loading a model's weights onto the GPU, or anything else (plans, notes).
 */
export type TrainPhase = 'tokenise' | 'load' | 'note';

/** Progress events of a training run (members of the app's one progress union, src/app/progress.ts). */
export type TrainEvent =
  | { readonly status: 'preparing'; readonly message: string; readonly phase?: TrainPhase }
  | {
      readonly status: 'evaluating';
      readonly message: string;
      /** Held-out progress of the evaluation under way (absent on the announcement before it starts). */
      readonly model?: EvalModel;
      readonly batch?: number;
      readonly batches?: number;
    }
  | {
      readonly status: 'step';
      readonly step: number;
      readonly totalSteps: number;
      readonly loss: number;
      readonly learningRate: number;
      readonly gradNorm: number;
      readonly tokensPerSec: number;
      readonly etaSec: number;
      /** stage dpo: the step's preference metrics over its pairs (TRL/LLaMA-Factory rewards/*, logps/*) */
      readonly metrics?: PrefMetrics;
    }
  | {
      readonly status: 'eval';
      /** which model the held-out loss is for */
      readonly model: EvalModel;
      readonly when: 'before' | 'after';
      readonly loss: number;
      /** true when the loss was not computed in this run but taken from an earlier run on the same pair and data */
      readonly cached?: boolean;
    }
  | {
      /** Held-out loss of Base + LoRA after `step` optimizer steps (TrainSettings.evalSteps). */
      readonly status: 'eval-step';
      readonly step: number;
      readonly totalSteps: number;
      /** stage sft: nats per label token; stage dpo: the mean preference loss over the held-out pairs */
      readonly loss: number;
      /** stage dpo: the held-out preference metrics of Base + LoRA at this step (TRL's eval_rewards/*, eval_logps/*) */
      readonly metrics?: PrefMetrics;
    }
  | {
      /** A resumed run starts: the steps already done and their loss history (from the checkpoint). */
      readonly status: 'resumed';
      readonly step: number;
      readonly totalSteps: number;
      readonly history: readonly { readonly step: number; readonly loss: number; readonly lr: number; readonly gradNorm: number }[];
      /** held-out losses of Base + LoRA measured during training before the checkpoint (TrainSettings.evalSteps) */
      readonly evalPoints?: readonly { readonly step: number; readonly loss: number }[];
    }
  | {
      /** A checkpoint after `step` steps was saved (no error) or could not be saved (error names the cause). */
      readonly status: 'checkpoint';
      readonly step: number;
      readonly totalSteps: number;
      readonly error?: string;
    }
  | {
      /** Stage dpo: the reference log-probs (the model with the adapter off) of `batch` of `batches` training batches done. */
      readonly status: 'reference';
      readonly batch: number;
      readonly batches: number;
      /** true when they were taken from the checkpoint being resumed instead of computed */
      readonly cached?: boolean;
    }
  | {
      /**
       * Stage dpo: held-out preference metrics of a model (rewards against the same model without the adapter;
       * for 'base' and 'instruct' — no adapter — every reward is 0 and the accuracy 0, as LLaMA-Factory would log).
       */
      readonly status: 'pref-eval';
      readonly model: EvalModel;
      readonly when: 'before' | 'after';
      readonly metrics: PrefMetrics;
      /** mean preference loss over the held-out pairs */
      readonly loss: number;
      /**
       * true when the model's held-out log-probs were not computed in this run but taken from the checkpoint being
       * resumed or from an earlier run on the same pair and held-out pairs (only for 'before': the untrained models)
       */
      readonly cached?: boolean;
    }
  | { readonly status: 'done'; readonly finalLoss: number; readonly steps: number }
  | { readonly status: 'cancelled'; readonly steps: number }
  | { readonly status: 'error'; readonly message: string };
