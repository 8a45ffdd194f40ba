/**
 * A whole Shadow-DPO run (stage dpo; Shadow-FT paper §5.3): a preference objective (pref_loss, default DPO) with LoRA
 * on the Base model, then the held-out preference metrics of Base + LoRA and of Instruct + the same (grafted)
 * LoRA, each against its own model without the adapter. Steps, in progress order:
 *   1. the reference pass: log-probs of the training pairs the step plan uses, with the adapter off (its own
 *      'reference' events; train/prefReference.ts), once, cached per pair (reused by every epoch; stored in the
 *      checkpoint so a resumed run uses the very same values);
 *   2. held-out log-probs of Base (its reference for the metrics; from the checkpoint being resumed or
 *      job.cachedHeldoutReference when known);
 *   3. the optimizer steps (train/prefStep.ts) in the step loop shared with SFT (train/loop.ts: schedule, checkpoints,
 *      cancel), with clipping and AdamW as SFT, and
 *      every settings.evalSteps steps the held-out metrics of Base + LoRA ('eval-step' events);
 *   4. held-out metrics of Base + LoRA, then Instruct (its log-probs cached as Base's) and Instruct + grafted LoRA.
 * Micro-batches: settings.batchSize PAIRS (2·batchSize sequences), gradAccum micro-batches per step, pairs shuffled
 * per epoch with seed + epoch (io/dataset/prefBatches.ts), as LLaMA-Factory counts them.
 */
import type { PreferenceBatch } from '../../io/dataset/types';
import { makePreferenceBatches, type TokenizedPairRows } from '../../io/dataset/prefBatches';
import { checkpointContentId } from '../../io/contentId';
import { createActivations, type Activations } from '../model/activations';
import { createLoraParams, readLoraAdapter, readLoraTensors, writeLoraTensors, type LoraParams } from '../model/lora';
import { destroyGpuModel, makeGpuModel, type GpuModel } from '../model/model';
import { loadModelWeights } from '../model/weights';
import { describePlan, requirePlanFits } from '../plan/advice';
import { APP_VERSION, assertCompatible, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, dataIdentity, type EvalPoint, type EvalResult, type LossPoint, type TrainCheckpoint } from './checkpoint';
import { validateSettings } from './defaults';
import { prefEvalOf, splitLengths, splitLogps, type SplitLogps } from './prefEval';
import { createPrefStepBuffers, prefTrainStep, referenceLogps, type PairLogps, type PrefStepBuffers } from './prefStep';
import { assembleReference, checkReference, plannedPairs, referenceBatches } from './prefReference';
import { prefOptionsOf, stageOf } from './prefSettings';
import { checkpointWeightBytes, planJob, saverHooks, type TrainJob, type TrainResult } from './run';
import { checkpointSaver } from './checkpointSaver';
import { runStepLoop } from './loop';
import type { EvalModel, TrainSettings } from './types';

/** A stage-dpo job: {@link TrainJob} with tokenised preference pairs instead of examples. */
export interface PrefTrainJob extends Omit<TrainJob, 'train' | 'heldout' | 'cachedEval'> {
  readonly train: readonly TokenizedPairRows[];
  readonly heldout?: readonly TokenizedPairRows[];
  /**
   * Held-out log-probs of the untrained Base / Instruct from an earlier run on the same pair, held-out pairs and Max
   * length (they do not depend on the training settings; the studio's cache, app/prefEvalCacheStore.ts): given ones
   * are used instead of computed and their 'before' metrics reported with `cached: true`. One of another length
   * than the held-out pairs is ignored.
   */
  readonly cachedHeldoutReference?: { readonly base?: SplitLogps; readonly instruct?: SplitLogps };
  /** Called with each untrained model's held-out log-probs this run computed (e.g. to cache them). */
  onHeldoutReference?(model: 'base' | 'instruct', logps: SplitLogps): void;
}

/**
 * Optimizer-step plan of a preference run: micro-batches of settings.batchSize pairs, gradAccum per step, epochs
 * (or maxSteps), pairs shuffled per epoch with seed + epoch.
 * @throws Error when `train` is empty; makePreferenceBatches' errors (a row without a labelled token, naming the pair)
 */
export function planPrefSteps(train: readonly TokenizedPairRows[], s: TrainSettings, padTokenId: number): PreferenceBatch[][] {
  if (train.length === 0) throw new Error(`no preference pair has answer tokens within Max length ${s.maxLength}: raise Max length`);
  const steps: PreferenceBatch[][] = [];
  const perEpoch = Math.ceil(Math.ceil(train.length / s.batchSize) / s.gradAccum);
  const total = s.maxSteps > 0 ? s.maxSteps : perEpoch * s.epochs;
  for (let epoch = 0; steps.length < total; epoch++) {
    const batches = makePreferenceBatches(train, s.batchSize, { maxLength: s.maxLength, seed: s.seed + epoch, padTokenId });
    for (let i = 0; i < batches.length && steps.length < total; i += s.gradAccum) steps.push(batches.slice(i, i + s.gradAccum));
  }
  return steps;
}

/** Identity of tokenised pairs: {@link dataIdentity} over chosen, rejected, chosen, … in pair order. */
export function pairDataIdentity(pairs: readonly TokenizedPairRows[]): Promise<string> {
  return dataIdentity(pairs.flatMap((p) => [p.chosen, p.rejected]));
}

function maxShape(batches: Iterable<PreferenceBatch>): { B: number; T: number } {
  let [B, T] = [2, 1];
  for (const b of batches) [B, T] = [Math.max(B, b.batchSize), Math.max(T, b.seqLen)];
  return { B, T };
}

/** The cached reference log-probs of the pairs of `b` (by pairIndex). */
function refsOf(b: PreferenceBatch, ref: SplitLogps): PairLogps {
  if (!b.pairIndex) throw new Error('preference batch without pairIndex');
  return { chosen: Float64Array.from(b.pairIndex, (i) => ref.chosen[i] as number), rejected: Float64Array.from(b.pairIndex, (i) => ref.rejected[i] as number) };
}

/**
 * Trains LoRA on Base with the preference objective of job.settings (stage dpo) and reports progress through
 * job.onEvent ('reference', 'step', 'pref-eval', 'checkpoint', …); returns how the run ended, as runTraining.
 * @throws SettingsError for invalid settings or a stage other than dpo; MemoryPlanError; CheckpointMismatchError
 *   for a checkpoint of another run; CheckpointSaveError; the engine's GPU errors
 */
export async function runPreferenceTraining(job: PrefTrainJob): Promise<TrainResult> {
  const { ctx, config: cfg, settings: s, onEvent, signal } = job;
  validateSettings(s, cfg);
  if (stageOf(s) !== 'dpo') throw new Error(`runPreferenceTraining needs stage dpo, got ${stageOf(s)}`);
  const pref = prefOptionsOf(s);
  const memPlan = planJob(job);
  requirePlanFits(cfg, s, checkpointWeightBytes(job.base), ctx.limits, memPlan);
  onEvent({ status: 'preparing', message: `memory plan (stage dpo: ${s.batchSize} pairs = ${2 * s.batchSize} sequences per micro-batch):\n${describePlan(memPlan)}` });
  const plan = planPrefSteps(job.train, s, job.padTokenId);
  const opts = { maxLength: s.maxLength, padTokenId: job.padTokenId, shuffle: false };
  const planned = plannedPairs(plan);
  const refBatches = referenceBatches(job.train, planned, s.batchSize, opts);
  const held = job.heldout?.length ? makePreferenceBatches(job.heldout, s.batchSize, opts) : [];
  const shape = maxShape([...plan.flat(), ...refBatches, ...held]);
  const total = plan.length;
  const wantState = job.resume !== undefined || job.onCheckpoint !== undefined;
  const modelId = wantState ? (job.modelId ?? (await checkpointContentId(job.base))) : '';
  const dataId = wantState ? await pairDataIdentity(job.train) : '';
  const resume = job.resume;
  if (resume) {
    assertCompatible(resume, { appVersion: APP_VERSION, modelId, dataId, settings: s, totalSteps: total });
    checkReference(resume.reference, job.train.length, planned);
    onEvent({ status: 'resumed', step: resume.step, totalSteps: total, history: resume.history, evalPoints: resume.evalPoints ?? [] });
  }
  const history: LossPoint[] = [...(resume?.history ?? [])];
  const evals: EvalResult[] = [...(resume?.evals ?? [])];
  const evalPoints: EvalPoint[] = [...(resume?.evalPoints ?? [])];
  let reference: SplitLogps | null = resume?.reference ?? null;
  // The untrained models' held-out log-probs: from the checkpoint, else the caller's cache (when of the right length).
  const known = (which: 'base' | 'instruct'): SplitLogps | undefined => {
    const r = resume?.heldoutReference?.[which] ?? job.cachedHeldoutReference?.[which];
    return r && r.chosen.length === job.heldout?.length && r.rejected.length === r.chosen.length ? r : undefined;
  };
  const heldRef: { base?: SplitLogps; instruct?: SplitLogps } = { ...(known('base') ? { base: known('base') } : {}), ...(known('instruct') ? { instruct: known('instruct') } : {}) };
  let model: GpuModel | null = null;
  let lora: LoraParams | null = null;
  let acts: Activations | null = null;
  let buffers: PrefStepBuffers | null = null;
  const capture = async (l: LoraParams, step: number): Promise<TrainCheckpoint> => ({
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, appVersion: APP_VERSION, modelId: modelId || (job.modelId ?? (await checkpointContentId(job.base))),
    modelName: job.base.modelName, dataId: dataId || (await pairDataIdentity(job.train)), settings: s, step, totalSteps: total,
    history: history.slice(0, step), evals: [...evals], evalPoints: evalPoints.filter((p) => p.step <= step),
    params: await readLoraTensors(ctx, l, 'params'), m: await readLoraTensors(ctx, l, 'm'), v: await readLoraTensors(ctx, l, 'v'),
    savedAt: new Date().toISOString(), ...(reference ? { reference } : {}), ...(heldRef.base || heldRef.instruct ? { heldoutReference: { ...heldRef } } : {}),
  });
  const saver = checkpointSaver({ ...saverHooks(job), total, onEvent, capture: (step) => capture(lora as LoraParams, step) });
  const checkpoint = (_l: LoraParams, step: number): Promise<TrainCheckpoint> => saver.save(step);
  const lengths = splitLengths(held);
  const heldLogps = async (m: GpuModel, l: LoraParams | null, which: EvalModel, label: string): Promise<SplitLogps | null> => {
    onEvent({ status: 'evaluating', message: `held-out log-probs of ${label} (${held.length} batches)`, model: which, batch: 0, batches: held.length });
    return splitLogps(ctx, m, acts as Activations, l, held, signal, (batch, batches) => onEvent({ status: 'evaluating', message: `held-out log-probs of ${label}: batch ${batch}/${batches}`, model: which, batch, batches }));
  };
  const report = (which: EvalModel, when: 'before' | 'after', policy: SplitLogps, ref: SplitLogps, cached = false): void => {
    const r = prefEvalOf(policy, ref, lengths, pref);
    evals.splice(0, evals.length, ...evals.filter((e) => e.model !== which || e.when !== when), { model: which, when, loss: r.loss });
    onEvent({ status: 'pref-eval', model: which, when, metrics: r.metrics, loss: r.loss, ...(cached ? { cached } : {}) });
  };
  /** The untrained model's held-out log-probs: known ones reported as cached, else measured (null: cancelled). */
  const untrained = async (m: GpuModel, which: 'base' | 'instruct', label: string): Promise<SplitLogps | null> => {
    const had = heldRef[which];
    const r = had ?? (await heldLogps(m, null, which, label));
    if (!r) return null;
    if (!had) {
      heldRef[which] = r;
      job.onHeldoutReference?.(which, r);
    }
    report(which, 'before', r, r, had !== undefined);
    return r;
  };
  try {
    onEvent({ status: 'preparing', phase: 'load', message: `loading ${job.base.modelName} onto the GPU` });
    model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, job.base));
    lora = createLoraParams(ctx, cfg, s.lora, resume ? resume.params : { seed: s.seed });
    if (resume) {
      writeLoraTensors(ctx, lora, 'm', resume.m);
      writeLoraTensors(ctx, lora, 'v', resume.v);
    }
    acts = createActivations(ctx, cfg, shape.B, shape.T, s.lora.r, s.lora.targetModules, { recompute: s.recompute, dropout: s.lora.dropout > 0 });
    buffers = createPrefStepBuffers(ctx, acts);
    let done = resume?.step ?? 0;
    const cancelled = async (l: LoraParams): Promise<TrainResult> => {
      const c = await checkpoint(l, done);
      onEvent({ status: 'cancelled', steps: done });
      return { status: 'cancelled', adapter: await readLoraAdapter(ctx, l), steps: done, totalSteps: total, checkpoint: c };
    };
    if (reference) onEvent({ status: 'reference', batch: refBatches.length, batches: refBatches.length, cached: true });
    else {
      onEvent({ status: 'reference', batch: 0, batches: refBatches.length });
      const parts = await referenceLogps(ctx, model, acts, refBatches, signal, (batch, batches) => onEvent({ status: 'reference', batch, batches }))
        .catch((e: unknown) => (signal?.aborted ? null : Promise.reject(e)));
      if (!parts) return await cancelled(lora);
      reference = assembleReference(job.train.length, refBatches, parts);
    }
    const baseRef = held.length ? await untrained(model, 'base', 'Base before training') : null;
    if (signal?.aborted || (held.length && !baseRef)) return await cancelled(lora);
    const start = done;
    const [m, l, a, buf, ref] = [model, lora, acts, buffers, reference as SplitLogps];
    // Held-out metrics of Base + LoRA during training (TrainSettings.evalSteps); the last step is the after evaluation.
    const evalEvery = baseRef && s.evalSteps && s.evalSteps > 0 ? s.evalSteps : 0;
    const loop = await runStepLoop({
      settings: s, total, start, history, evalPoints, ...(signal ? { signal } : {}), onEvent, saver, ...(job.checkpointEvery ? { checkpointEvery: job.checkpointEvery } : {}),
      step: (k, lr) => {
        const micro = plan[k]!;
        return prefTrainStep(ctx, m, a, l, micro, micro.map((b) => refsOf(b, ref)), {
          lr, step: k + 1, beta1: s.beta1, beta2: s.beta2, eps: s.adamEps, weightDecay: s.weightDecay, maxGradNorm: s.maxGradNorm, seed: s.seed,
        }, pref, buf, signal);
      },
      eta: (elapsed, d) => (elapsed / (d - start)) * (total - d),
      ...(evalEvery > 0 && baseRef ? {
        evaluation: {
          every: evalEvery,
          announce: (d: number) => `held-out preference metrics of Base + LoRA at step ${d} (${held.length} batches)`,
          run: async () => {
            const policy = await splitLogps(ctx, m, a, l, held, signal);
            return policy ? prefEvalOf(policy, baseRef, lengths, pref) : null;
          },
        },
      } : {}),
    });
    done = loop.done;
    const last = loop.last;
    if (loop.status === 'cancelled') return await cancelled(lora);
    const final = saver.saving() && (!resume || resume.step < total) ? await checkpoint(lora, done) : undefined;
    if (held.length && baseRef) {
      const after = await heldLogps(model, lora, 'base+lora', 'Base + LoRA');
      if (!after) return await cancelled(lora);
      report('base+lora', 'after', after, baseRef);
      if (job.instruct) {
        destroyGpuModel(model);
        model = null;
        onEvent({ status: 'preparing', phase: 'load', message: `loading ${job.instruct.modelName} onto the GPU` });
        model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, job.instruct));
        const iRef = await untrained(model, 'instruct', 'Instruct');
        if (!iRef) return await cancelled(lora);
        const graft = await heldLogps(model, lora, 'instruct+graft', 'Instruct + grafted LoRA');
        if (!graft) return await cancelled(lora);
        report('instruct+graft', 'after', graft, iRef);
      }
    }
    const adapter = await readLoraAdapter(ctx, lora);
    onEvent({ status: 'done', finalLoss: last, steps: done });
    return { status: 'complete', adapter, steps: done, totalSteps: total, ...(final ? { checkpoint: final } : {}) };
  } finally {
    buffers?.destroy();
    acts?.destroy();
    lora?.destroy();
    if (model) destroyGpuModel(model);
  }
}
