/**
 * A whole full-parameter Shadow-FT run (finetuning_type "full"): every tensor of the Base trained in f32
 * (model/fullParams.ts, train/fullStep.ts) with the LoRA path's schedule, accumulation and clipping, then the held-out
 * losses of the tuned Base W_B′ and of the graft W_I + (W_B′ − W_B) (Shadow-FT §3.1, full-parameter form). Events as
 * train/run.ts; the held-out models reuse its names: 'base+lora' = the tuned Base W_B′, 'instruct+graft' = Instruct +
 * (W_B′ − W_B) rounded once to the Instruct's dtype exactly as the export (graft/graftTuned.ts), so its held-out loss
 * is the loss of the exported merged folder. Returns W_B′ (f32, every tensor of the table) for the
 * exports: graft/tunedBase.ts writes it, graft/graftTuned.ts grafts it onto the Instruct.
 * Checkpoints and resume as the LoRA run (TrainJob fields), the state being train/fullCheckpoint.ts's.
 */
import { readTensor, type Checkpoint } from '../../io/checkpoint';
import type { Batch } from '../../io/dataset/types';
import { decodeToF32, isWeightDType } from '../../io/dtype';
import { encodeF32Fast } from '../analysis/fastDtype';
import { writeBytes } from '../gpu/buffers';
import { addDeltaF32 } from '../graft/graftTuned';
import { createActivations, type Activations } from '../model/activations';
import { createFullParams, readFullTensors, writeFullTensors, type FullParams } from '../model/fullParams';
import { makeGpuModel, type GpuModel } from '../model/model';
import { MemoryPlanError } from '../plan/advice';
import { DEFAULT_BUDGET_BYTES } from '../plan/memory';
import { planFullMemory, type FullMemoryPlan } from '../plan/fullMemory';
import { validateSettings } from './defaults';
import { evalBatches } from './evalBatches';
import { trainFullStep } from './fullStep';
import { AUTO_CHECKPOINT_SECONDS, CheckpointSaveError, checkpointWeightBytes, planSteps, type TrainJob } from './run';
import { checkpointContentId } from '../../io/contentId';
import { APP_VERSION, assertCompatible, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointMismatchError, dataIdentity, FULL_CHECKPOINT_BYTES_PER_PARAM, type EvalResult, type LossPoint, type TrainCheckpoint } from './checkpoint';
import { captureFullState, fullCheckpointBytes, restoreFullState } from './fullCheckpoint';
import { cosineWithWarmup, warmupSteps } from './schedule';
import { createStepStats, evaluateLoss } from './step';
import type { EvalModel, TrainSettings } from './types';

/** How a full-parameter run ended (a failure throws instead). */
export interface FullTrainResult {
  readonly status: 'complete' | 'cancelled';
  /** W_B′: every tensor of the table by HF name, f32 (a frozen embedding: its stored values, upcast) */
  readonly tensors: ReadonlyMap<string, Float32Array>;
  /** optimizer steps done, those of a resumed checkpoint included */
  readonly steps: number;
  readonly totalSteps: number;
  /** the state at the end: always at cancel; after the last step when onCheckpoint is given */
  readonly checkpoint?: TrainCheckpoint;
}

/** The full-parameter memory plan of a job. @throws Error as checkpointWeightBytes */
export function planFullJob(job: Pick<TrainJob, 'ctx' | 'config' | 'base' | 'settings' | 'budgetBytes'>): FullMemoryPlan {
  const s = job.settings;
  return planFullMemory(job.config, { batchSize: s.batchSize, maxLength: s.maxLength, recompute: s.recompute, trainEmbeddings: s.trainEmbeddings ?? true }, checkpointWeightBytes(job.base), job.ctx.limits, job.budgetBytes ?? DEFAULT_BUDGET_BYTES);
}

function maxShape(batches: Iterable<Batch>): { B: number; T: number } {
  let B = 1;
  let T = 1;
  for (const b of batches) [B, T] = [Math.max(B, b.batchSize), Math.max(T, b.seqLen)];
  return { B, T };
}

/**
 * W_I + (W_B′ − W_B) of every trainable tensor, rounded once to the Instruct's dtype (the merged export's values),
 * into the masters (W_I itself when `tuned` is null); a frozen embedding takes the Instruct's stored bytes.
 */
async function graftOnGpu(job: TrainJob, full: FullParams, tuned: ReadonlyMap<string, Float32Array> | null, instruct: Checkpoint): Promise<void> {
  const grafted = new Map<string, Float32Array>();
  for (const t of full.tensors) {
    const wi = await readTensor(instruct, t.spec.name);
    if (!t.trainable) {
      if (wi.info.dtype !== t.fileDtype) throw new Error(`${instruct.modelName}: ${t.spec.name} is ${wi.info.dtype} but the Base stores it as ${t.fileDtype}; a frozen embedding is grafted by copying the Instruct's bytes`);
      const rowBytes = wi.bytes.byteLength / (t.spec.shape[0] as number);
      for (const c of t.chunks) writeBytes(job.ctx, c.params, 0, wi.bytes.subarray(c.row0 * rowBytes, (c.row0 + c.rows) * rowBytes));
      continue;
    }
    let w = decodeToF32(wi.bytes, wi.info.dtype);
    if (tuned) {
      const wb = await readTensor(job.base, t.spec.name);
      addDeltaF32(w, tuned.get(t.spec.name) as Float32Array, decodeToF32(wb.bytes, wb.info.dtype), w);
      // The export's one rounding to the Instruct's dtype (graftTuned.ts), so the loss is the merged folder's.
      if (isWeightDType(wi.info.dtype)) w = decodeToF32(encodeF32Fast(w, wi.info.dtype), wi.info.dtype);
    }
    grafted.set(t.spec.name, w);
  }
  writeFullTensors(job.ctx, full, 'params', grafted);
}

/**
 * Trains every weight of the Base (or continues `job.resume`) and reports progress through job.onEvent (see the file
 * comment). Checkpoints as the LoRA run (TrainJob.checkpointEvery / onCheckpoint / continueWithoutCheckpoints): every
 * N steps (absent: about {@link AUTO_CHECKPOINT_SECONDS} s of work), after the last step (before the held-out
 * evaluations, which overwrite the masters with the graft) and at cancel; each holds the f32 masters and AdamW m, v of
 * every trainable tensor — 12 bytes per trainable parameter (train/fullCheckpoint.ts).
 * @throws SettingsError for invalid settings; MemoryPlanError (numbers + what to lower) when the full-parameter plan
 *   does not fit; CheckpointMismatchError when job.resume is a state of another run (a LoRA one included);
 *   CheckpointSaveError when onCheckpoint fails; WeightShapeError / DeviceLimitError as the loader.
 */
export async function runFullTraining(job: TrainJob): Promise<FullTrainResult> {
  const { ctx, config: cfg, settings: s, onEvent } = job;
  validateSettings(s, cfg);
  const plan = planFullJob(job);
  if (!plan.fits) throw new MemoryPlanError(plan, plan.problems);
  onEvent({ status: 'preparing', message: `full-parameter memory plan: ${plan.lines.map((l) => `${l.label} ${(l.bytes / 2 ** 20).toFixed(1)} MiB`).join('; ')}; ${plan.trainableParams.toLocaleString('en-US')} trainable parameters` });
  const train = job.train.filter((e) => e.labels.some((l) => l !== -100));
  const steps = planSteps(train, s, job.padTokenId);
  const trainShape = maxShape(steps.flat());
  const heldoutT = Math.min(s.maxLength, Math.max(0, ...(job.heldout ?? []).map((e) => e.inputIds.length)));
  const shape = { B: trainShape.B, T: Math.max(trainShape.T, heldoutT) };
  const heldout = job.heldout?.length ? evalBatches(job.heldout, shape.B * shape.T, s.maxLength, job.padTokenId) : [];
  const total = steps.length;
  const resume = job.resume;
  const wantState = resume !== undefined || job.onCheckpoint !== undefined;
  let modelId = wantState ? (job.modelId ?? (await checkpointContentId(job.base))) : '';
  let dataId = wantState ? await dataIdentity(job.train) : '';
  if (resume) {
    assertCompatible(resume, { appVersion: APP_VERSION, modelId, dataId, settings: s, totalSteps: total });
    if (!resume.full) throw new CheckpointMismatchError('finetuning type', 'lora (no full-parameter tensors)', 'full');
    onEvent({ status: 'resumed', step: resume.step, totalSteps: total, history: resume.history, evalPoints: [] });
  }
  const history: LossPoint[] = [...(resume?.history ?? [])];
  const evals: EvalResult[] = [...(resume?.evals ?? [])];
  onEvent({ status: 'preparing', phase: 'load', message: `loading ${job.base.modelName} onto the GPU as f32 masters` });
  let full: FullParams | null = null;
  let acts: Activations | null = null;
  let stats: GPUBuffer | null = null;
  let saving = job.onCheckpoint !== undefined;
  /** The state after `step` steps; `masters` = W_B′ read before the evaluations grafted the Instruct in. */
  const capture = async (f: FullParams, step: number, masters?: ReadonlyMap<string, Float32Array>): Promise<TrainCheckpoint> => {
    if (!wantState) {
      modelId = job.modelId ?? (await checkpointContentId(job.base));
      dataId = await dataIdentity(job.train);
    }
    return {
      format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, appVersion: APP_VERSION, modelId, modelName: job.base.modelName, dataId, settings: s,
      step, totalSteps: total, history: history.slice(0, step), evals: [...evals], evalPoints: [], params: new Map(), m: new Map(), v: new Map(),
      full: await captureFullState(ctx, f, masters), savedAt: new Date().toISOString(),
    };
  };
  /** Captures and (when saving) saves the state after `step` steps; returns the captured state. */
  const checkpoint = async (f: FullParams, step: number): Promise<TrainCheckpoint> => {
    const c = await capture(f, step);
    if (!saving || !job.onCheckpoint) return c;
    try {
      await job.onCheckpoint(c);
      onEvent({ status: 'checkpoint', step, totalSteps: total });
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      onEvent({ status: 'checkpoint', step, totalSteps: total, error: why });
      if (!job.continueWithoutCheckpoints) throw new CheckpointSaveError(`the checkpoint after step ${step} could not be saved (${why}); the run stopped, checkpoints saved before are kept`, { cause: e });
      saving = false;
      onEvent({ status: 'preparing', message: `continuing without checkpoints after a failed save at step ${step}` });
    }
    return c;
  };
  try {
    full = await createFullParams(ctx, cfg, job.base, { trainEmbeddings: s.trainEmbeddings ?? true, maxTokens: shape.B * shape.T });
    if (resume?.full) restoreFullState(ctx, full, resume.full);
    if (job.onCheckpoint) onEvent({ status: 'preparing', message: `each checkpoint holds the f32 weights and AdamW m, v of ${full.trainableParams.toLocaleString('en-US')} trained parameters: ${(fullCheckpointBytes(full.trainableParams) / 2 ** 20).toFixed(1)} MiB (${FULL_CHECKPOINT_BYTES_PER_PARAM} bytes per parameter)` });
    const f = full;
    const model: GpuModel = makeGpuModel(cfg, full.weights);
    acts = createActivations(ctx, cfg, shape.B, shape.T, 0, [], { recompute: s.recompute });
    stats = createStepStats(ctx);
    const a = acts;
    const evaluate = async (which: EvalModel, label: string, when: 'before' | 'after'): Promise<void> => {
      onEvent({ status: 'evaluating', message: `held-out loss of ${label} (${heldout.length} batches)`, model: which, batch: 0, batches: heldout.length });
      const loss = await evaluateLoss(ctx, model, a, null, heldout, job.signal);
      if (job.signal?.aborted) return;
      evals.splice(0, evals.length, ...evals.filter((e) => e.model !== which || e.when !== when), { model: which, when, loss });
      onEvent({ status: 'eval', model: which, when, loss });
    };
    const start = resume?.step ?? 0;
    let done = start;
    const read = () => readFullTensors(ctx, f, 'params');
    const cancelled = async (c?: TrainCheckpoint, tensors?: ReadonlyMap<string, Float32Array>): Promise<FullTrainResult> => {
      const state = c ?? (await checkpoint(f, done));
      onEvent({ status: 'cancelled', steps: done });
      return { status: 'cancelled', tensors: tensors ?? (await read()), steps: done, totalSteps: total, checkpoint: state };
    };
    // Before-training losses: from the resumed state, else from an earlier run on the same pair and data (cachedEval).
    const cached = (model: 'base' | 'instruct'): boolean => {
      const loss = evals.find((e) => e.model === model && e.when === 'before')?.loss ?? job.cachedEval?.[model];
      if (loss === undefined) return false;
      if (!evals.some((e) => e.model === model && e.when === 'before')) evals.push({ model, when: 'before', loss });
      onEvent({ status: 'eval', model, when: 'before', loss, cached: true });
      return true;
    };
    if (heldout.length && !cached('base')) {
      await evaluate('base', 'Base before training', 'before');
      if (job.signal?.aborted) return await cancelled();
    }
    const warm = warmupSteps(total, s.warmupRatio);
    const t0 = performance.now();
    let tokens = 0;
    let last = history.at(-1)?.loss ?? NaN;
    let every = job.checkpointEvery && job.checkpointEvery > 0 ? job.checkpointEvery : 0;
    const stepSec: number[] = [];
    for (let k = start; k < total; k++) {
      if (job.signal?.aborted) return await cancelled();
      const lr = s.learningRate * cosineWithWarmup(k, total, warm);
      const tStep = performance.now();
      let r;
      try {
        r = await trainFullStep(ctx, model, acts, full, steps[k]!, { lr, step: k + 1, beta1: s.beta1, beta2: s.beta2, eps: s.adamEps, weightDecay: s.weightDecay, maxGradNorm: s.maxGradNorm, seed: s.seed }, stats, job.signal);
      } catch (e) {
        if (job.signal?.aborted) return await cancelled();
        throw e;
      }
      done = k + 1;
      tokens += r.tokens;
      last = r.loss;
      history.push({ step: done, loss: r.loss, lr, gradNorm: r.gradNorm });
      const elapsed = (performance.now() - t0) / 1000;
      onEvent({ status: 'step', step: done, totalSteps: total, loss: r.loss, learningRate: lr, gradNorm: r.gradNorm, tokensPerSec: tokens / elapsed, etaSec: (elapsed / (done - start)) * (total - done) });
      stepSec.push((performance.now() - tStep) / 1000);
      if (saving && every === 0 && (stepSec.length >= 2 || done === total)) {
        every = Math.max(1, Math.round(AUTO_CHECKPOINT_SECONDS / Math.max(1e-3, Math.min(...stepSec))));
        onEvent({ status: 'preparing', message: `saving a checkpoint every ${every} steps (about ${AUTO_CHECKPOINT_SECONDS} s of work; ${FULL_CHECKPOINT_BYTES_PER_PARAM} bytes per trained parameter: f32 weights + AdamW m and v)` });
      }
      if (saving && every > 0 && done < total && done % every === 0) await checkpoint(full, done);
    }
    // The state after the last step is taken before the evaluations graft the Instruct into the masters.
    const final = saving && (!resume || resume.step < total) ? await checkpoint(full, done) : undefined;
    const tensors = await read();
    const result: FullTrainResult = { status: 'complete', tensors, steps: done, totalSteps: total, ...(final ? { checkpoint: final } : {}) };
    if (heldout.length) {
      await evaluate('base+lora', 'the tuned Base W_B′ (full)', 'after');
      if (job.signal?.aborted) return await cancelled(final ?? (await capture(full, done)), tensors);
      if (job.instruct) {
        if (!cached('instruct')) {
          await graftOnGpu(job, full, null, job.instruct);
          await evaluate('instruct', 'Instruct', 'before');
        }
        await graftOnGpu(job, full, tensors, job.instruct);
        await evaluate('instruct+graft', 'Instruct + (W_B′ − W_B) (full Shadow-FT, rounded to the Instruct dtype as exported)', 'after');
        // The masters now hold the graft: a cancel here keeps the state taken after the last step.
        if (job.signal?.aborted) return await cancelled(final ?? (await capture(full, done, tensors)), tensors);
      }
    }
    onEvent({ status: 'done', finalLoss: last, steps: done });
    return result;
  } finally {
    stats?.destroy();
    acts?.destroy();
    full?.destroy();
  }
}

/** The settings of a full-parameter run: LoRA fields are ignored; trainEmbeddings defaults to true. */
export function isFullRun(s: Pick<TrainSettings, 'finetuningType'>): boolean {
  return s.finetuningType === 'full';
}
