/**
 * What a run will do, before Start: the exact optimizer-step plan (the same tokenisation, filtering and batching as
 * the run: engine/train/run.ts planSteps, evalBatches), the required FLOPs of every training step and held-out
 * evaluation (engine/plan/flops.ts requiredStepFlops on the padded B × T of each micro-batch), the bytes of weights
 * to load and the schedule check (engine/train/scheduleWarnings.ts). The UI turns FLOPs into time with a device
 * speed (measured in an earlier run, or an assumed one) and refines it from the measured steps as the run goes.
 */
import { requiredFullStepFlops, requiredStepFlops, type StepFlops } from '../engine/plan/flops';
import { isFullRun } from '../engine/train/runFull';
import { planSteps } from '../engine/train/run';
import { evalBatches } from '../engine/train/evalBatches';
import { checkSchedule, type ScheduleCheck } from '../engine/train/scheduleWarnings';
import type { TrainSettings } from '../engine/train/types';
import type { ModelConfig } from '../io/config/types';
import type { Batch } from '../io/dataset/types';
import { prepareSplit } from '../io/tokenizer/prepare';
import { instructTokenizer } from './datasetPreview';
import { heldoutKey } from '../engine/train/evalCache';
import { evalCache, restoreEvalCache } from './evalCacheStore';
import type { Session } from './session';
import { stageOf } from '../engine/train/prefSettings';
import { estimatePrefRun } from './prefEstimate';
import { chooseHeldoutRows, type HeldoutChoice } from './heldoutRows';

/** The plan of a run with these settings on the loaded pair and data. */
export interface RunEstimate {
  /** Optimizer steps the run will take, and its warmup and zero-learning-rate steps. */
  readonly totalSteps: number;
  readonly schedule: ScheduleCheck;
  /** Conversations to tokenise (train + held-out). */
  readonly conversations: number;
  /** Training examples with assistant tokens within Max length (the others are skipped by the run). */
  readonly trainExamples: number;
  /** Micro-batches of the whole run (Σ over steps). */
  readonly microBatches: number;
  /**
   * Required FLOPs of all training steps (forward + backward), and of one held-out pass over all batches (forward;
   * the mean of a pass with and without the LoRA branches).
   */
  readonly trainFlops: number;
  readonly evalPassFlops: number;
  readonly evalBatches: number;
  /** Held-out passes the run makes at most (Base before, Base + LoRA, Instruct, Instruct + graft; 0 without held-out). */
  readonly evalPasses: number;
  /** Held-out passes of Base + LoRA during training (TrainSettings.evalSteps; engine/train/run.ts), 0 without held-out. */
  readonly evalsDuringTraining: number;
  /** Before-training held-out losses an earlier run on the same pair and data left in the worker's cache (skipped). */
  readonly cachedEvals: { readonly base: boolean; readonly instruct: boolean };
  /** The held-out rows the run evaluates (Held-out rows, or the automatic choice: heldoutRows.ts). */
  readonly heldoutRows: HeldoutChoice;
  /** Most padded tokens (B × T) of one held-out batch: the training activations' capacity (the memory plan's B × T). */
  readonly evalBatchTokens: number;
  /** Mean tokens of a held-out row within Max length (prompt + reference answer; 0 without held-out data). */
  readonly heldoutMeanTokens: number;
  /** Tensor bytes of the Base and of the Instruct checkpoint (loaded onto the GPU). */
  readonly baseBytes: number;
  readonly instructBytes: number;
  /** 'full' for a full-parameter run (trainFlops then count the weight gradients: plan/flops.ts requiredFullStepFlops); absent for LoRA */
  readonly finetuningType?: 'full';
  /** Stage dpo: required FLOPs of the reference pass (a forward of every training pair with the adapter off), included in trainFlops. */
  readonly referenceFlops?: number;
}

/**
 * Held-out passes during a run of `total` steps evaluating every `every` steps: after steps every, 2·every, … below
 * the last (engine/train/run.ts: the after-training loss covers the last step). 0 without held-out data or for every ≤ 0.
 */
export function evalsDuringTraining(total: number, every: number, heldout: boolean): number {
  return heldout && every > 0 && total > 0 ? Math.floor((total - 1) / every) : 0;
}

/**
 * Forward-only FLOPs of a step's parts (see flops.ts): frozen linears and lm_head forward are half of forward +
 * input gradient; LoRA forward is 2 of its 6·r·(in+out); attention forward is 4·D of 12·D per pair.
 */
export function forwardFlops(f: StepFlops): number {
  return f.frozenLinears / 2 + f.lmHead / 2 + f.lora / 3 + f.attention / 3;
}

/**
 * Σ requiredStepFlops over micro-batches (LoRA branches on for training, off for an evaluation of the bare model).
 * finetuning_type full: no LoRA term; training steps add every weight gradient dW = dyᵀ·x, and dE of the lm_head when
 * it is trained (an untied head, or a tied one with Train embeddings on): plan/flops.ts requiredFullStepFlops.
 */
export function flopsOf(cfg: ModelConfig, s: TrainSettings, batches: readonly Batch[], forwardOnly: boolean): number {
  const full = isFullRun(s);
  const trainHead = !cfg.tieWordEmbeddings || (s.trainEmbeddings ?? true);
  let total = 0;
  for (const b of batches) {
    if (full && !forwardOnly) total += requiredFullStepFlops(cfg, b.batchSize, b.seqLen, trainHead).total;
    else {
      const f = requiredStepFlops(cfg, full ? { r: 0, targetModules: [] } : s.lora, b.batchSize, b.seqLen);
      total += forwardOnly ? forwardFlops(f) : f.total;
    }
  }
  return total;
}

/**
 * The estimate of a run of `settings` on the session's pair and ticked data (tokenises like the run does).
 * @throws Error when no pair is loaded; TokenizerError as the run would.
 */
export async function estimateRun(session: Session, settings: TrainSettings): Promise<RunEstimate> {
  if (stageOf(settings) === 'dpo') return estimatePrefRun(session, settings);
  const pair = session.requirePair();
  const tok = await instructTokenizer(session);
  const vocab = Math.min(pair.base.config.vocabSize, pair.instruct.config.vocabSize);
  const kwargs = settings.chatTemplateKwargs ?? {};
  const trainConvs = session.conversations('train');
  const heldoutConvs = session.conversations('heldout');
  const train = prepareSplit(tok, trainConvs, session.skippedRows('train'), settings.maxLength, vocab, kwargs).examples.filter((e) => e.labels.some((l) => l !== -100));
  const heldout = heldoutConvs.length ? prepareSplit(tok, heldoutConvs, session.skippedRows('heldout'), settings.maxLength, vocab, kwargs).examples : [];
  const cfg = pair.base.config;
  await restoreEvalCache();
  const plan = train.length ? planSteps(train, settings, tok.padTokenId) : [];
  const micro = plan.flat();
  let B = 1;
  let T = 1;
  for (const b of micro) {
    B = Math.max(B, b.batchSize);
    T = Math.max(T, b.seqLen);
  }
  const trainFlops = flopsOf(cfg, settings, micro, false);
  const during = evalsDuringTraining(plan.length, settings.evalSteps ?? 0, heldout.length > 0);
  const rows = chooseHeldoutRows(cfg, settings, heldout, trainFlops, 4 + during);
  const used = heldout.slice(0, rows.used);
  const heldoutT = Math.min(settings.maxLength, Math.max(0, ...used.map((e) => e.inputIds.length)));
  const evalTokens = B * Math.max(T, heldoutT);
  const evalB = used.length ? evalBatches(used, evalTokens, settings.maxLength, tok.padTokenId) : [];
  const evalPass = (flopsOf(cfg, settings, evalB, true) + flopsOf(cfg, { ...settings, lora: { ...settings.lora, targetModules: [] } }, evalB, true)) / 2;
  return {
    totalSteps: plan.length,
    schedule: checkSchedule(plan.length, settings.warmupRatio, settings.learningRate),
    conversations: trainConvs.length + heldoutConvs.length,
    trainExamples: train.length,
    microBatches: micro.length,
    trainFlops,
    evalPassFlops: evalPass,
    evalBatches: evalB.length,
    evalPasses: evalB.length ? 4 : 0,
    evalsDuringTraining: evalB.length > 0 ? during : 0,
    cachedEvals: {
      base: used.length > 0 && evalCache.get(pair.baseId, heldoutKey(used, settings.maxLength)) !== undefined,
      instruct: used.length > 0 && evalCache.get(pair.instructId, heldoutKey(used, settings.maxLength)) !== undefined,
    },
    heldoutRows: rows,
    heldoutMeanTokens: heldout.length ? heldout.reduce((a, e) => a + Math.min(e.inputIds.length, settings.maxLength), 0) / heldout.length : 0,
    evalBatchTokens: evalTokens,
    baseBytes: pair.base.checkpoint.totalBytes,
    instructBytes: pair.instruct.checkpoint.totalBytes,
    ...(isFullRun(settings) ? { finetuningType: 'full' as const } : {}),
  };
}
