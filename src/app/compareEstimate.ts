/**
 * What a comparison (compare/runCompare.ts) will do, before it starts (issue 20, fault 1), for each kind
 * (compare/kind.ts): two training runs of the settings (on Base and on Instruct: the same steps and required FLOPs,
 * the pair sharing its config), a held-out pass for each of the five models, and greedy answers of the first N
 * held-out prompts for each of them. Required FLOPs as the run estimate counts them (runEstimate.ts):
 * - stage dpo (app/prefEstimate.ts): each step runs both sequences of every pair, plus the reference pass of the
 *   training pairs; a model's held-out work is the loss on the chosen answers (one sequence per pair, about half a
 *   pair pass) plus the preference log-probs of both sequences, and each of the two checkpoints also runs its bare
 *   reference pass ({@link DPO_EVAL_PASSES});
 * - finetuning_type full: each micro-batch costs engine/plan/flops.ts requiredFullStepFlops (weight gradients of
 *   every linear; the head when it is trained) instead of the LoRA step, and held-out passes are bare forwards.
 * An answer is counted as one forward over the prompt and Answer tokens new tokens (flops.ts at T = prompt + new
 * tokens), an upper bound since answers stop at a stop token. The UI turns them into time with the device speed, and
 * the answers with the seconds per new token the warm-up measured when there is one (app/decodeWarmup.ts: greedy
 * decode is one small forward per token, bound by dispatch and read-back latency rather than FLOPs;
 * {@link CompareEstimate.answerTokens}).
 */
import type { ModelConfig } from '../io/config/types';
import type { LoraSettings } from '../engine/model/loraTypes';
import { requiredFullStepFlops, requiredStepFlops } from '../engine/plan/flops';
import { planSteps } from '../engine/train/run';
import type { TrainSettings } from '../engine/train/types';
import { prepareSplit } from '../io/tokenizer/prepare';
import type { CompareKind } from './compare/kind';
import { compareKindOf } from './compare/kind';
import { COMPARE_MODELS } from './compare/types';
import { instructTokenizer } from './datasetPreview';
import { estimateRun, forwardFlops, type RunEstimate } from './runEstimate';
import type { Session } from './session';

/**
 * Stage dpo: one model's held-out work in pair passes (both sequences): ½ for the loss on the chosen answers, 1 for
 * the preference log-probs, and 2/5 for its share of the two checkpoints' bare reference passes (counted at the
 * pair pass's cost, a slight over-count of the LoRA-free forward).
 */
export const DPO_EVAL_PASSES = 0.5 + 1 + 2 / COMPARE_MODELS.length;

/** The plan of a comparison with these settings and options on the loaded pair and data. */
export interface CompareEstimate {
  /**
   * One training run of the settings (trainFlops: full-parameter steps for full, pair steps + the reference pass for
   * dpo) and one model's held-out work (evalPassFlops: every held-out row; for dpo the chosen-answer loss, the
   * preference log-probs and its share of the reference passes)
   */
  readonly run: RunEstimate;
  /** prompts answered by each model: min(Eval prompts, held-out rows) */
  readonly prompts: number;
  /** required FLOPs of one model's answers (all prompts, Answer tokens new tokens each) */
  readonly answerFlops: number;
  /** models measured (5) */
  readonly models: number;
  /** what the runs train (stage, finetuning type) */
  readonly kind: CompareKind;
  /** new tokens of one model's answers at most: prompts × Answer tokens (the decode estimate's count) */
  readonly answerTokens: number;
}

/**
 * Required FLOPs of one full-parameter run of `settings` on the session's ticked SFT data: Σ requiredFullStepFlops
 * over the micro-batches of the step plan (train/run.ts planSteps, as runFull.ts trains them).
 */
async function fullTrainFlops(session: Session, settings: TrainSettings): Promise<number> {
  const pair = session.requirePair();
  const cfg = pair.base.config;
  const tok = await instructTokenizer(session);
  const vocab = Math.min(cfg.vocabSize, pair.instruct.config.vocabSize);
  const train = prepareSplit(tok, session.conversations('train'), session.skippedRows('train'), settings.maxLength, vocab, settings.chatTemplateKwargs ?? {}).examples.filter((e) => e.labels.some((l) => l !== -100));
  if (train.length === 0) return 0;
  const trainHead = !cfg.tieWordEmbeddings || (settings.trainEmbeddings ?? true);
  return planSteps(train, settings, tok.padTokenId).flat().reduce((a, b) => a + requiredFullStepFlops(cfg, b.batchSize, b.seqLen, trainHead).total, 0);
}

/**
 * The estimate of a comparison of `settings` with `options` on the session's pair and data.
 * @throws Error when no pair is loaded; CompareError for stage dpo with finetuning_type full; TokenizerError as the run would.
 */
export async function estimateCompare(session: Session, settings: TrainSettings, options: { readonly evalPrompts: number; readonly maxNewTokens: number }): Promise<CompareEstimate> {
  const kind = compareKindOf(settings);
  // Every held-out row is evaluated by the comparison (no Held-out rows limit), no evaluation during training.
  const { evalSteps: _e, ...s } = settings;
  const full = kind.finetuningType === 'full';
  const bareLora = { ...settings.lora, targetModules: [] };
  // Full: the held-out passes have no LoRA branch, so the run is estimated with none (its trainFlops is replaced).
  const base = await estimateRun(session, { ...s, heldoutRows: Number.MAX_SAFE_INTEGER, ...(full ? { lora: bareLora } : {}) });
  const cfg = session.requirePair().base.config;
  let run: RunEstimate = base;
  if (kind.stage === 'dpo') run = { ...base, evalPassFlops: DPO_EVAL_PASSES * base.evalPassFlops };
  else if (full) run = { ...base, trainFlops: await fullTrainFlops(session, settings) };
  const prompts = Math.min(options.evalPrompts, run.heldoutRows.available);
  const T = Math.max(1, Math.min(cfg.maxPositionEmbeddings, Math.round(run.heldoutMeanTokens) + options.maxNewTokens));
  const perAnswer = full ? forwardFlops(requiredStepFlops(cfg, bareLora, 1, T)) : answerFlopsAt(cfg, settings.lora, T);
  return { run, prompts, answerFlops: prompts * perAnswer, models: COMPARE_MODELS.length, kind, answerTokens: prompts * options.maxNewTokens };
}

/**
 * Required FLOPs the estimate counts for one answer of T tokens (prompt + new): one forward over T tokens (flops.ts
 * at B 1), the mean of with and without the LoRA branches (two of the five models answer without an adapter).
 */
export function answerFlopsAt(cfg: ModelConfig, lora: LoraSettings, T: number): number {
  return (forwardFlops(requiredStepFlops(cfg, lora, 1, T)) + forwardFlops(requiredStepFlops(cfg, { ...lora, targetModules: [] }, 1, T))) / 2;
}

