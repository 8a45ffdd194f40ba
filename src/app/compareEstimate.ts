/**
 * What a comparison (compare/runCompare.ts) will do, before it starts (issue 20, fault 1): two training runs of the
 * settings (LoRA on Base and on Instruct: the same steps and required FLOPs, the pair sharing its config), a held-out
 * loss pass over every held-out row for each of the five models, and greedy answers of the first N held-out prompts
 * for each of them. Required FLOPs as the run estimate counts them (runEstimate.ts); an answer is counted as one
 * forward over the prompt and Answer tokens new tokens (engine/plan/flops.ts at T = prompt + new tokens), an upper
 * bound since answers stop at a stop token. The UI turns them into time with the same device speed as a run, and the
 * answers with the seconds per new token the warm-up measured when there is one (app/decodeWarmup.ts: greedy decode
 * is one small forward per token, bound by dispatch and read-back latency rather than FLOPs; {@link
 * CompareEstimate.answerTokens}).
 */
import type { ModelConfig } from '../io/config/types';
import type { LoraSettings } from '../engine/model/loraTypes';
import { requiredStepFlops } from '../engine/plan/flops';
import type { TrainSettings } from '../engine/train/types';
import type { CompareOptions } from './compare/types';
import { COMPARE_MODELS } from './compare/types';
import { estimateRun, forwardFlops, type RunEstimate } from './runEstimate';
import type { Session } from './session';

/** The plan of a comparison with these settings and options on the loaded pair and data. */
export interface CompareEstimate {
  /** one training run of the settings, and one held-out pass over every held-out row (evalPassFlops) */
  readonly run: RunEstimate;
  /** prompts answered by each model: min(Eval prompts, held-out rows) */
  readonly prompts: number;
  /** required FLOPs of one model's answers (all prompts, Answer tokens new tokens each) */
  readonly answerFlops: number;
  /** models measured (5) */
  readonly models: number;
  /** new tokens of one model's answers at most: prompts × Answer tokens (the decode estimate's count) */
  readonly answerTokens: number;
}

/**
 * The estimate of a comparison of `settings` with `options` on the session's pair and data.
 * @throws Error when no pair is loaded; TokenizerError as the run would.
 */
export async function estimateCompare(session: Session, settings: TrainSettings, options: CompareOptions): Promise<CompareEstimate> {
  // Every held-out row is evaluated by the comparison (no Held-out rows limit), no evaluation during training.
  const { evalSteps: _e, ...s } = settings;
  const run = await estimateRun(session, { ...s, heldoutRows: Number.MAX_SAFE_INTEGER });
  const prompts = Math.min(options.evalPrompts, run.heldoutRows.available);
  const cfg = session.requirePair().base.config;
  const T = Math.max(1, Math.min(cfg.maxPositionEmbeddings, Math.round(run.heldoutMeanTokens) + options.maxNewTokens));
  return { run, prompts, answerFlops: prompts * answerFlopsAt(cfg, settings.lora, T), models: COMPARE_MODELS.length, answerTokens: prompts * options.maxNewTokens };
}

/**
 * Required FLOPs the estimate counts for one answer of T tokens (prompt + new): one forward over T tokens (flops.ts
 * at B 1), the mean of with and without the LoRA branches (two of the five models answer without an adapter).
 */
export function answerFlopsAt(cfg: ModelConfig, lora: LoraSettings, T: number): number {
  return (forwardFlops(requiredStepFlops(cfg, lora, 1, T)) + forwardFlops(requiredStepFlops(cfg, { ...lora, targetModules: [] }, 1, T))) / 2;
}

