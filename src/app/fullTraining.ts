/**
 * A full-parameter run as the studio starts it (LLaMA-Factory finetuning_type full; Shadow-FT §3.1 in its full
 * form): the ticked SFT data tokenised like a LoRA run (training.ts prepareSftRun), every weight of the Base trained
 * in f32 with AdamW (engine/train/runFull.ts), W_B′ kept in the worker for the exports (fullExports.ts: the tuned Base
 * and the merged Instruct W_I + (W_B′ − W_B)). Also the memory plan of such a run (plan/fullMemory.ts), and the size of
 * its checkpoints (12 bytes per trained parameter: train/fullCheckpoint.ts).
 * The tuned weights are NOT kept in browser storage (IndexedDB): they are 4 bytes per parameter of the model, far
 * beyond what a site may keep for real models; the run history keeps the run's settings, losses and results only.
 */
import type { GpuContext } from '../engine/gpu/context';
import { describePlan } from '../engine/plan/advice';
import { fullCheckpointBytes } from '../engine/train/fullCheckpoint';
import { validateSettings } from '../engine/train/defaults';
import { planFullJob, runFullTraining, type FullTrainResult } from '../engine/train/runFull';
import type { TrainEvent, TrainSettings } from '../engine/train/types';
import { dataSettingsProblem } from './settingsChecks';
import type { Session } from './session';
import type { MemoryPlanView, SftRunData, TrainOutcome, TrainRunOptions } from './training';

/** W_B′ of the last full-parameter run and the pair it belongs to. */
export interface TrainedFull {
  /** every tensor of the Base's table by HF name, f32 (a frozen embedding: its stored values) */
  readonly tensors: ReadonlyMap<string, Float32Array>;
  /** dropped folder names of the pair */
  readonly baseModel: string;
  readonly instructModel: string;
  readonly settings: TrainSettings;
  readonly steps: number;
}

/** The full-parameter part of a memory-plan view. */
export interface FullPlanInfo {
  readonly trainableParams: number;
  /** bytes "Train embeddings" off saves against on (from the plan with embeddings trained) */
  readonly embedSavingBytes: number;
  /** bytes of one checkpoint of this run (12 per trained parameter + header) */
  readonly checkpointBytes: number;
}

/**
 * The memory plan of a full-parameter run with `settings` on this device (plan/fullMemory.ts via runFull.ts
 * planFullJob); a plan that does not fit names its numbers and what to lower in `plan.problems`.
 * @throws Error when no pair is loaded or the checkpoint's dtype is not a float type.
 */
export function fullMemoryPlanFor(session: Session, ctx: GpuContext, settings: TrainSettings): MemoryPlanView & { readonly full: FullPlanInfo } {
  const { base } = session.requirePair();
  const job = { ctx, config: base.config, base: base.checkpoint, settings };
  const plan = planFullJob(job);
  const withEmbeddings = settings.trainEmbeddings === false ? planFullJob({ ...job, settings: { ...settings, trainEmbeddings: true } }) : plan;
  let settingsError: string | null = null;
  try {
    validateSettings(settings, base.config);
  } catch (e) {
    settingsError = e instanceof Error ? e.message : String(e);
  }
  settingsError ??= dataSettingsProblem(settings, session.conversations('train').length);
  if (settings.stage === 'dpo') settingsError ??= 'Stage DPO trains LoRA only: choose Finetuning type LoRA, or stage SFT for a full-parameter run.';
  return {
    plan, text: describePlan(plan), advice: [], settingsError,
    full: { trainableParams: plan.trainableParams, embedSavingBytes: withEmbeddings.embedSavingBytes, checkpointBytes: fullCheckpointBytes(plan.trainableParams) },
  };
}

/**
 * Trains every weight of the session's Base on the prepared data; same contract as trainOnSession.
 * @throws as runFullTraining (MemoryPlanError with the numbers, CheckpointMismatchError, CheckpointSaveError, …)
 */
export async function trainFullOnSession(ctx: GpuContext, settings: TrainSettings, d: SftRunData, signal: AbortSignal, opts: TrainRunOptions = {}): Promise<{ outcome: TrainOutcome; trained: null; full: TrainedFull; result: FullTrainResult }> {
  const { pair, train, heldout } = d;
  const result = await runFullTraining({
    ...opts, ctx, config: pair.base.config, base: pair.base.checkpoint, instruct: pair.instruct.checkpoint, train, ...(heldout ? { heldout } : {}),
    settings, padTokenId: d.padTokenId, signal, cachedEval: d.cachedEval, onEvent: d.onEvent as (e: TrainEvent) => void,
  });
  const full: TrainedFull = { tensors: result.tensors, baseModel: pair.base.model.files.name, instructModel: d.instructName, settings, steps: result.steps };
  const outcome: TrainOutcome = {
    status: result.status === 'cancelled' ? 'cancelled' : 'done', steps: result.steps, baseModel: full.baseModel, instructModel: d.instructName, settings,
    trainExamples: train.length, heldoutExamples: heldout?.length ?? 0, trainSkipped: d.trainSkipped, heldoutSkipped: d.heldoutSkipped, truncated: d.truncated,
  };
  return { outcome, trained: null, full, result };
}
