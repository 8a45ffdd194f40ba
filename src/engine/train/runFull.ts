/**
 * A whole full-parameter Shadow-FT run (finetuning_type "full"): every tensor of the Base trained in f32
 * (model/fullParams.ts, train/fullStep.ts) with the LoRA path's schedule, accumulation and clipping, then the held-out
 * losses of the tuned Base W_B′ and of the graft W_I + (W_B′ − W_B) (Shadow-FT §3.1, full-parameter form). Events as
 * train/run.ts; the held-out models reuse its names: 'base+lora' = the tuned Base W_B′, 'instruct+graft' = Instruct +
 * (W_B′ − W_B) in f32 (before the one rounding of the export). Returns W_B′ (f32, every tensor of the table) for the
 * exports: graft/tunedBase.ts writes it, graft/graftTuned.ts grafts it onto the Instruct.
 * Not yet: checkpoints and resume (job.resume is refused; onCheckpoint is not called).
 */
import { readTensor, type Checkpoint } from '../../io/checkpoint';
import type { Batch } from '../../io/dataset/types';
import { decodeToF32 } from '../../io/dtype';
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
import { checkpointWeightBytes, planSteps, type TrainJob } from './run';
import { cosineWithWarmup, warmupSteps } from './schedule';
import { createStepStats, evaluateLoss } from './step';
import type { EvalModel, TrainSettings } from './types';

/** How a full-parameter run ended (a failure throws instead). */
export interface FullTrainResult {
  readonly status: 'complete' | 'cancelled';
  /** W_B′: every tensor of the table by HF name, f32 (a frozen embedding: its stored values, upcast) */
  readonly tensors: ReadonlyMap<string, Float32Array>;
  readonly steps: number;
  readonly totalSteps: number;
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
 * W_I + (W_B′ − W_B) of every trainable tensor into the masters (W_I itself when `tuned` is null); a frozen embedding
 * takes the Instruct's stored bytes.
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
    const w = decodeToF32(wi.bytes, wi.info.dtype);
    if (tuned) {
      const wb = await readTensor(job.base, t.spec.name);
      addDeltaF32(w, tuned.get(t.spec.name) as Float32Array, decodeToF32(wb.bytes, wb.info.dtype), w);
    }
    grafted.set(t.spec.name, w);
  }
  writeFullTensors(job.ctx, full, 'params', grafted);
}

/**
 * Trains every weight of the Base and reports progress through job.onEvent (see the file comment).
 * @throws SettingsError for invalid settings; MemoryPlanError (numbers + what to lower) when the full-parameter plan
 *   does not fit; Error when job.resume is given (not supported yet); WeightShapeError / DeviceLimitError as the loader.
 */
export async function runFullTraining(job: TrainJob): Promise<FullTrainResult> {
  const { ctx, config: cfg, settings: s, onEvent } = job;
  validateSettings(s, cfg);
  if (job.resume) throw new Error('resuming a full-parameter run is not supported yet; start it again');
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
  onEvent({ status: 'preparing', phase: 'load', message: `loading ${job.base.modelName} onto the GPU as f32 masters` });
  let full: FullParams | null = null;
  let acts: Activations | null = null;
  let stats: GPUBuffer | null = null;
  try {
    full = await createFullParams(ctx, cfg, job.base, { trainEmbeddings: s.trainEmbeddings ?? true, maxTokens: shape.B * shape.T });
    const model: GpuModel = makeGpuModel(cfg, full.weights);
    acts = createActivations(ctx, cfg, shape.B, shape.T, 0, [], { recompute: s.recompute });
    stats = createStepStats(ctx);
    const a = acts;
    const evaluate = async (which: EvalModel, label: string, when: 'before' | 'after'): Promise<void> => {
      onEvent({ status: 'evaluating', message: `held-out loss of ${label} (${heldout.length} batches)`, model: which, batch: 0, batches: heldout.length });
      const loss = await evaluateLoss(ctx, model, a, null, heldout, job.signal);
      if (!job.signal?.aborted) onEvent({ status: 'eval', model: which, when, loss });
    };
    if (heldout.length) await evaluate('base', 'Base before training', 'before');
    const warm = warmupSteps(total, s.warmupRatio);
    const t0 = performance.now();
    let tokens = 0;
    let done = 0;
    let last = NaN;
    const ended = async (status: 'complete' | 'cancelled'): Promise<FullTrainResult> => ({ status, tensors: await readFullTensors(ctx, full as FullParams, 'params'), steps: done, totalSteps: total });
    for (let k = 0; k < total; k++) {
      if (job.signal?.aborted) break;
      const lr = s.learningRate * cosineWithWarmup(k, total, warm);
      let r;
      try {
        r = await trainFullStep(ctx, model, acts, full, steps[k]!, { lr, step: k + 1, beta1: s.beta1, beta2: s.beta2, eps: s.adamEps, weightDecay: s.weightDecay, maxGradNorm: s.maxGradNorm, seed: s.seed }, stats, job.signal);
      } catch (e) {
        if (job.signal?.aborted) break;
        throw e;
      }
      done = k + 1;
      tokens += r.tokens;
      last = r.loss;
      const elapsed = (performance.now() - t0) / 1000;
      onEvent({ status: 'step', step: done, totalSteps: total, loss: r.loss, learningRate: lr, gradNorm: r.gradNorm, tokensPerSec: tokens / elapsed, etaSec: (elapsed / done) * (total - done) });
    }
    if (job.signal?.aborted) {
      onEvent({ status: 'cancelled', steps: done });
      return await ended('cancelled');
    }
    const result = await ended('complete');
    if (heldout.length) {
      await evaluate('base+lora', 'the tuned Base W_B′ (full)', 'after');
      if (job.instruct) {
        await graftOnGpu(job, full, null, job.instruct);
        await evaluate('instruct', 'Instruct', 'before');
        await graftOnGpu(job, full, result.tensors, job.instruct);
        await evaluate('instruct+graft', 'Instruct + (W_B′ − W_B) (full Shadow-FT, f32)', 'after');
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
