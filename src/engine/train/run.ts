/**
 * A whole Shadow-FT training run: LoRA on the Base model, then held-out loss of Base+LoRA and of
 * Instruct + the same (grafted) LoRA (Shadow-FT §3.1: the adapter trained on Base is the adapter for Instruct).
 */
import type { Checkpoint } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import type { Batch, TokenizedExample } from '../../io/dataset/types';
import { makeBatches } from '../../io/dataset/batches';
import type { GpuContext } from '../gpu/context';
import { createActivations, type Activations } from '../model/activations';
import { createLoraParams, readLoraAdapter, readLoraTensors, writeLoraTensors, type LoraParams } from '../model/lora';
import { destroyGpuModel, makeGpuModel, type GpuModel } from '../model/model';
import { loadModelWeights } from '../model/weights';
import { requirePlanFits, describePlan } from '../plan/advice';
import { DEFAULT_BUDGET_BYTES, planMemory, type MemoryPlan } from '../plan/memory';
import { DTYPE_BYTES } from '../../io/dtype';
import { validateSettings } from './defaults';
import { checkpointSaver, CheckpointSaveError, AUTO_CHECKPOINT_SECONDS, type CheckpointSaverOptions } from './checkpointSaver';
import { runStepLoop } from './loop';
import { createStepStats, evaluateLoss, trainStep, type EvalProgress } from './step';
import { evalBatches } from './evalBatches';
import type { EvalModel, TrainEvent, TrainSettings } from './types';
import type { LoraAdapter } from '../model/loraTypes';
import { checkpointContentId } from '../../io/contentId';
import { APP_VERSION, assertCompatible, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, dataIdentity, type EvalPoint, type EvalResult, type LossPoint, type TrainCheckpoint } from './checkpoint';

/** Everything a run needs. The examples are already tokenised with the Instruct chat template. */
export interface TrainJob {
  readonly ctx: GpuContext;
  readonly config: ModelConfig;
  readonly base: Checkpoint;
  /** When given with heldout, Instruct + grafted LoRA is evaluated after training. */
  readonly instruct?: Checkpoint;
  readonly train: readonly TokenizedExample[];
  readonly heldout?: readonly TokenizedExample[];
  readonly settings: TrainSettings;
  readonly padTokenId: number;
  onEvent(e: TrainEvent): void;
  readonly signal?: AbortSignal;
  /** GPU memory the run may use, bytes (default 8 GiB); the memory plan must fit it. */
  readonly budgetBytes?: number;
  /**
   * Held-out losses of the untrained models from an earlier run on the same pair, held-out tokens and Max length
   * (they do not depend on the training settings); given ones are reported with `cached: true` instead of computed.
   */
  readonly cachedEval?: { readonly base?: number; readonly instruct?: number };
  /** Content id of `base` (io/contentId.ts checkpointContentId); computed from `base` when absent and needed. */
  readonly modelId?: string;
  /** Continue this state (refused by name when it is not a state of this run: CheckpointMismatchError). */
  readonly resume?: TrainCheckpoint;
  /**
   * Save a checkpoint every this many optimizer steps (with `onCheckpoint`). Absent or 0: about one minute of work,
   * max(1, round(60 s / the shorter of the first two steps of this process)), fixed after the second step (the first
   * one also compiles the pipelines).
   */
  readonly checkpointEvery?: number;
  /**
   * Saves a checkpoint (awaited; the run waits for it): every `checkpointEvery` steps, after the last step (before
   * the held-out evaluations after training) and at cancel. A rejection emits a 'checkpoint' event with the error
   * and stops the run with a CheckpointSaveError, unless `continueWithoutCheckpoints` (then no more are saved).
   */
  onCheckpoint?(c: TrainCheckpoint): Promise<void>;
  readonly continueWithoutCheckpoints?: boolean;
}

/** How a run ended (a failure throws instead). */
export interface TrainResult {
  readonly status: 'complete' | 'cancelled';
  readonly adapter: LoraAdapter;
  /** optimizer steps done, those of a resumed checkpoint included */
  readonly steps: number;
  readonly totalSteps: number;
  /** the state at the end: always at cancel; after the last step when onCheckpoint is given */
  readonly checkpoint?: TrainCheckpoint;
}

export { CheckpointSaveError, AUTO_CHECKPOINT_SECONDS };

/** The job's checkpoint hooks for checkpointSaver.ts (onCheckpoint called on the job, as before). */
export function saverHooks(job: Pick<TrainJob, 'onCheckpoint' | 'continueWithoutCheckpoints'>): Pick<CheckpointSaverOptions, 'onCheckpoint' | 'continueWithoutCheckpoints'> {
  return { ...(job.onCheckpoint ? { onCheckpoint: (c: TrainCheckpoint) => (job.onCheckpoint as NonNullable<TrainJob['onCheckpoint']>).call(job, c) } : {}), ...(job.continueWithoutCheckpoints !== undefined ? { continueWithoutCheckpoints: job.continueWithoutCheckpoints } : {}) };
}

/**
 * Bytes per value of a checkpoint's matrices, read from embed_tokens' dtype (2 for BF16/F16, 4 for F32).
 * @throws Error when the checkpoint has no model.embed_tokens.weight or its dtype is not a float type the engine reads.
 */
export function checkpointWeightBytes(ckpt: Checkpoint): number {
  const loc = ckpt.tensors.get('model.embed_tokens.weight');
  if (!loc) throw new Error(`${ckpt.modelName}: tensor model.embed_tokens.weight is missing`);
  const d = loc.info.dtype;
  if (d !== 'BF16' && d !== 'F16' && d !== 'F32') throw new Error(`${ckpt.modelName}: model.embed_tokens.weight has dtype ${d}; expected BF16, F16 or F32`);
  return DTYPE_BYTES[d];
}

/**
 * The memory plan of a job (plan/memory.ts) for its settings, checkpoint dtype, device limits and budget.
 * @throws Error as {@link checkpointWeightBytes}.
 */
export function planJob(job: Pick<TrainJob, 'ctx' | 'config' | 'base' | 'settings' | 'budgetBytes'>): MemoryPlan {
  return planMemory(job.config, job.settings, checkpointWeightBytes(job.base), job.ctx.limits, job.budgetBytes ?? DEFAULT_BUDGET_BYTES);
}

/**
 * Optimizer-step plan: which micro-batches form each step.
 * @throws Error when `train` is empty (no step could be formed).
 */
export function planSteps(train: readonly TokenizedExample[], s: TrainSettings, padTokenId: number): Batch[][] {
  if (train.length === 0) throw new Error(`no training example has assistant tokens within Max length ${s.maxLength}: raise Max length`);
  const steps: Batch[][] = [];
  const perEpoch = Math.ceil(Math.ceil(train.length / s.batchSize) / s.gradAccum);
  const total = s.maxSteps > 0 ? s.maxSteps : perEpoch * s.epochs;
  for (let epoch = 0; steps.length < total; epoch++) {
    const batches = makeBatches(train, s.batchSize, { maxLength: s.maxLength, seed: s.seed + epoch, padTokenId });
    for (let i = 0; i < batches.length && steps.length < total; i += s.gradAccum) steps.push(batches.slice(i, i + s.gradAccum));
  }
  return steps;
}

function maxShape(batches: Iterable<Batch>): { B: number; T: number } {
  let B = 1;
  let T = 1;
  for (const b of batches) {
    B = Math.max(B, b.batchSize);
    T = Math.max(T, b.seqLen);
  }
  return { B, T };
}

/**
 * Trains LoRA on Base (or continues `job.resume`) and reports progress through job.onEvent; returns how the run
 * ended with the adapter (also on cancel, with the steps done so far, and the state to resume). The signal is
 * checked between micro-batches and between held-out batches. The memory plan is checked before any GPU work.
 * @throws CheckpointMismatchError when job.resume is from another model, data, settings or app version;
 *   CheckpointSaveError when onCheckpoint fails (see TrainJob.onCheckpoint); SettingsError for invalid settings, MemoryPlanError (numbers + what to lower) when the plan does not fit
 *   the device limits or the budget, WeightShapeError for a checkpoint that does not match the config,
 *   DeviceLimitError when a buffer exceeds the device limits.
 */
export async function runTraining(job: TrainJob): Promise<TrainResult> {
  const { ctx, config: cfg, settings: s, onEvent } = job;
  validateSettings(s, cfg);
  const memPlan = planJob(job);
  requirePlanFits(cfg, s, checkpointWeightBytes(job.base), ctx.limits, memPlan);
  onEvent({ status: 'preparing', message: `memory plan:\n${describePlan(memPlan)}` });
  const train = job.train.filter((e) => e.labels.some((l) => l !== -100));
  if (train.length === 0) throw new Error(`no training example has assistant tokens within Max length ${s.maxLength}: raise Max length`);
  if (train.length < job.train.length) onEvent({ status: 'preparing', message: `${job.train.length - train.length} examples have no assistant tokens within Max length and are skipped` });
  const plan = planSteps(train, s, job.padTokenId);
  const trainShape = maxShape(plan.flat());
  const heldoutT = Math.min(s.maxLength, Math.max(0, ...(job.heldout ?? []).map((e) => e.inputIds.length)));
  const shape = { B: trainShape.B, T: Math.max(trainShape.T, heldoutT) };
  const heldout = job.heldout?.length ? evalBatches(job.heldout, shape.B * shape.T, s.maxLength, job.padTokenId) : [];
  const heldoutTokens = heldout.reduce((a, b) => a + b.batchSize * b.seqLen, 0);
  const total = plan.length;
  // The identities are computed when a checkpoint may be needed (resume, saves); a cancel computes them late.
  const wantState = job.resume !== undefined || job.onCheckpoint !== undefined;
  let modelId = wantState ? (job.modelId ?? (await checkpointContentId(job.base))) : '';
  let dataId = wantState ? await dataIdentity(job.train) : '';
  const resume = job.resume;
  if (resume) {
    assertCompatible(resume, { appVersion: APP_VERSION, modelId, dataId, settings: s, totalSteps: total });
    onEvent({ status: 'resumed', step: resume.step, totalSteps: total, history: resume.history, evalPoints: resume.evalPoints ?? [] });
  }
  const history: LossPoint[] = [...(resume?.history ?? [])];
  const evals: EvalResult[] = [...(resume?.evals ?? [])];
  const evalPoints: EvalPoint[] = [...(resume?.evalPoints ?? [])];
  onEvent({ status: 'preparing', phase: 'load', message: `loading ${job.base.modelName} onto the GPU` });
  let model: GpuModel | null = null;
  let lora: LoraParams | null = null;
  let acts: Activations | null = null;
  let stats: GPUBuffer | null = null;
  // ETA: measured seconds per padded token of a training step and of a forward-only evaluation batch.
  let evalSecPerToken = NaN;
  const savedBase = evals.find((e) => e.model === 'base' && e.when === 'before')?.loss;
  const cachedBase = savedBase ?? job.cachedEval?.base;
  const savedInstruct = evals.find((e) => e.model === 'instruct' && e.when === 'before')?.loss;
  const cachedInstruct = savedInstruct ?? job.cachedEval?.instruct;
  let evalsLeft = heldout.length ? (job.instruct ? 4 : 2) - (cachedBase !== undefined ? 1 : 0) - (job.instruct && cachedInstruct !== undefined ? 1 : 0) : 0;
  const evaluate = async (m: GpuModel, withLora: LoraParams | null, which: EvalModel, label: string): Promise<number> => {
    onEvent({ status: 'evaluating', message: `held-out loss of ${label} (${heldout.length} batches)`, model: which, batch: 0, batches: heldout.length });
    const t0 = performance.now();
    const loss = await evaluateLoss(ctx, m, acts as Activations, withLora, heldout, job.signal, (p: EvalProgress) => {
      onEvent({ status: 'evaluating', message: `held-out loss of ${label}: batch ${p.batch}/${p.batches}`, model: which, batch: p.batch, batches: p.batches });
    });
    evalSecPerToken = (performance.now() - t0) / 1000 / Math.max(1, heldoutTokens);
    evalsLeft--;
    const when = which === 'base' || which === 'instruct' ? 'before' : 'after';
    if (!job.signal?.aborted) evals.splice(0, evals.length, ...evals.filter((e) => e.model !== which || e.when !== when), { model: which, when, loss });
    return loss;
  };
  const capture = async (l: LoraParams, step: number): Promise<TrainCheckpoint> => {
    if (!wantState) {
      modelId = job.modelId ?? (await checkpointContentId(job.base));
      dataId = await dataIdentity(job.train);
    }
    return captureNow(l, step);
  };
  const captureNow = async (l: LoraParams, step: number): Promise<TrainCheckpoint> => ({
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, appVersion: APP_VERSION, modelId, modelName: job.base.modelName, dataId, settings: s,
    step, totalSteps: total, history: history.slice(0, step), evals: [...evals], evalPoints: evalPoints.filter((p) => p.step <= step),
    params: await readLoraTensors(ctx, l, 'params'), m: await readLoraTensors(ctx, l, 'm'), v: await readLoraTensors(ctx, l, 'v'),
    savedAt: new Date().toISOString(),
  });
  /** Captures and saves the state after `step` steps (when saving); returns the captured state. */
  const saver = checkpointSaver({ ...saverHooks(job), total, onEvent, capture: (step) => capture(lora as LoraParams, step) });
  const checkpoint = (_l: LoraParams, step: number): Promise<TrainCheckpoint> => saver.save(step);
  try {
    model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, job.base));
    lora = createLoraParams(ctx, cfg, s.lora, resume ? resume.params : { seed: s.seed });
    if (resume) {
      writeLoraTensors(ctx, lora, 'm', resume.m);
      writeLoraTensors(ctx, lora, 'v', resume.v);
    }
    acts = createActivations(ctx, cfg, shape.B, shape.T, s.lora.r, s.lora.targetModules, { recompute: s.recompute, dropout: s.lora.dropout > 0 });
    stats = createStepStats(ctx);
    const start = resume?.step ?? 0;
    let done = start;
    const cancelled = async (l: LoraParams): Promise<TrainResult> => {
      const c = await checkpoint(l, done);
      onEvent({ status: 'cancelled', steps: done });
      return { status: 'cancelled', adapter: await readLoraAdapter(ctx, l), steps: done, totalSteps: total, checkpoint: c };
    };
    if (heldout.length) {
      if (cachedBase !== undefined) {
        // Kept in the run's state too, so a resume after a reload (an empty cache) does not compute it again.
        if (savedBase === undefined) evals.push({ model: 'base', when: 'before', loss: cachedBase });
        onEvent({ status: 'eval', model: 'base', when: 'before', loss: cachedBase, cached: true });
      } else {
        const loss = await evaluate(model, null, 'base', 'Base before training');
        if (job.signal?.aborted) return await cancelled(lora);
        onEvent({ status: 'eval', model: 'base', when: 'before', loss });
      }
    }
    // Evaluations during training (TrainSettings.evalSteps) and how many are still to come after `d` steps.
    const evalEvery = heldout.length && s.evalSteps && s.evalSteps > 0 ? s.evalSteps : 0;
    const evalsDuring = (d: number): number => (evalEvery > 0 ? Math.floor((total - 1) / evalEvery) - Math.floor(d / evalEvery) : 0);
    const m = model;
    const l = lora;
    const a = acts as Activations;
    const st = stats;
    const loop = await runStepLoop({
      settings: s, total, start, history, evalPoints, signal: job.signal, onEvent, saver, ...(job.checkpointEvery ? { checkpointEvery: job.checkpointEvery } : {}),
      step: (k, lr) => trainStep(ctx, m, a, l, plan[k]!, { lr, step: k + 1, beta1: s.beta1, beta2: s.beta2, eps: s.adamEps, weightDecay: s.weightDecay, maxGradNorm: s.maxGradNorm, seed: s.seed }, st, job.signal),
      // Forward-only evaluation costs about a third of a training step per token when none was measured yet.
      eta: (elapsed, d, tokens) => (elapsed / (d - start)) * (total - d) + (evalsLeft + evalsDuring(d)) * heldoutTokens * (Number.isFinite(evalSecPerToken) ? evalSecPerToken : elapsed / tokens / 3),
      ...(evalEvery > 0 ? {
        evaluation: {
          every: evalEvery,
          announce: (d: number) => `held-out loss of Base + LoRA at step ${d} (${heldout.length} batches)`,
          run: async () => {
            const tEval = performance.now();
            const loss = await evaluateLoss(ctx, m, a, l, heldout, job.signal);
            if (job.signal?.aborted) return null;
            evalSecPerToken = (performance.now() - tEval) / 1000 / Math.max(1, heldoutTokens);
            return { loss };
          },
        },
      } : {}),
    });
    done = loop.done;
    const last = loop.last;
    if (loop.status === 'cancelled') return await cancelled(lora);
    const final = saver.saving() && (!resume || resume.step < total) ? await checkpoint(lora, done) : undefined;
    if (heldout.length) {
      const afterLoss = await evaluate(model, lora, 'base+lora', 'Base + LoRA');
      if (job.signal?.aborted) return await cancelled(lora);
      onEvent({ status: 'eval', model: 'base+lora', when: 'after', loss: afterLoss });
      if (job.instruct) {
        destroyGpuModel(model);
        model = null;
        onEvent({ status: 'preparing', phase: 'load', message: `loading ${job.instruct.modelName} onto the GPU` });
        model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, job.instruct));
        if (cachedInstruct !== undefined) {
          if (savedInstruct === undefined) evals.push({ model: 'instruct', when: 'before', loss: cachedInstruct });
          onEvent({ status: 'eval', model: 'instruct', when: 'before', loss: cachedInstruct, cached: true });
        }
        else {
          const loss = await evaluate(model, null, 'instruct', 'Instruct');
          if (job.signal?.aborted) return await cancelled(lora);
          onEvent({ status: 'eval', model: 'instruct', when: 'before', loss });
        }
        const graftLoss = await evaluate(model, lora, 'instruct+graft', 'Instruct + grafted LoRA');
        if (job.signal?.aborted) return await cancelled(lora);
        onEvent({ status: 'eval', model: 'instruct+graft', when: 'after', loss: graftLoss });
      }
    }
    const adapter = await readLoraAdapter(ctx, lora);
    onEvent({ status: 'done', finalLoss: last, steps: done });
    return { status: 'complete', adapter, steps: done, totalSteps: total, ...(final ? { checkpoint: final } : {}) };
  } finally {
    stats?.destroy();
    acts?.destroy();
    lora?.destroy();
    if (model) destroyGpuModel(model);
  }
}
