/**
 * The two training runs of a comparison, one after the other on the same GPU context, with identical settings (so the
 * same seed: LoRA init, data/pair order and dropout all follow settings.seed): on Base (Shadow-FT / Shadow-DPO) and
 * on Instruct (conventional). Which engine run trains them is chosen by the kind (compare/kind.ts):
 * sft+lora → train/run.ts runTraining (via trainAdapter.ts), dpo+lora → train/prefRun.ts runPreferenceTraining (the
 * reference is each run's own model with the adapter off), sft+full → train/runFull.ts runFullTraining, then the
 * in-memory checkpoints of compare/fullWeights.ts. No held-out evaluation inside the runs: the comparison measures
 * every model itself, the same way. LoRA runs take a durable comparison's hooks (compare/hooks.ts): a finished run is
 * not trained again, the run under way resumes from its checkpoint and saves new ones.
 */
import type { TokenizedExample } from '../../io/dataset/types';
import type { TokenizedPairRows } from '../../io/dataset/prefBatches';
import type { GpuContext } from '../../engine/gpu/context';
import type { TrainCheckpoint } from '../../engine/train/checkpoint';
import type { LoraAdapter } from '../../engine/model/loraTypes';
import { runPreferenceTraining } from '../../engine/train/prefRun';
import { runFullTraining } from '../../engine/train/runFull';
import type { TrainEvent, TrainSettings } from '../../engine/train/types';
import { graftCheckpoint, tunedCheckpoint } from './fullWeights';
import type { CompareHooks } from './hooks';
import { runLabel, type CompareKind, type CompareSide, type TrainedRuns } from './kind';
import { trainAdapter } from './trainAdapter';
import type { CompareEvent, CompareRun } from './types';

/** The training data of a comparison: SFT examples, or preference pairs for stage dpo. */
export type CompareTrainData =
  | { readonly stage: 'sft'; readonly train: readonly TokenizedExample[] }
  | { readonly stage: 'dpo'; readonly train: readonly TokenizedPairRows[] };

/** What {@link trainCompareRuns} needs. */
export interface TrainRunsJob {
  readonly ctx: GpuContext;
  readonly base: CompareSide;
  readonly instruct: CompareSide;
  readonly kind: CompareKind;
  readonly data: CompareTrainData;
  readonly settings: TrainSettings;
  readonly padTokenId: number;
  readonly onEvent: (e: CompareEvent) => void;
  readonly signal?: AbortSignal;
  /** GPU memory budget of each run, bytes (the engine's default when absent) */
  readonly budgetBytes?: number;
  /** checkpoints, resume and finished runs of a durable comparison (LoRA kinds only; refused for full) */
  readonly hooks?: CompareHooks;
}

/** Both runs' products, their optimizer steps and per-step training losses. */
export interface TrainedCompare {
  readonly trained: TrainedRuns;
  readonly steps: Readonly<Record<CompareRun, number>>;
  readonly losses: Readonly<Record<CompareRun, readonly number[]>>;
}

const stopped = (r: { steps: number; totalSteps: number }): DOMException => new DOMException(`training stopped after ${r.steps} of ${r.totalSteps} steps`, 'AbortError');

/**
 * Trains both runs (Base first, then Instruct) as the kind says.
 * @throws everything the engine runs throw (SettingsError, MemoryPlanError, WeightShapeError,
 *   DeviceLimitError); Error when the data's stage is not the kind's; the signal's reason (or an AbortError) when
 *   cancelled — a comparison with a partial run is not a comparison.
 */
export async function trainCompareRuns(job: TrainRunsJob): Promise<TrainedCompare> {
  const { ctx, kind, settings: s, signal } = job;
  if (job.data.stage !== kind.stage) throw new Error(`Compare of stage ${kind.stage} was given ${job.data.stage === 'dpo' ? 'preference pairs' : 'SFT examples'}`);
  const losses: Record<CompareRun, number[]> = { shadow: [], conventional: [] };
  const steps: Record<CompareRun, number> = { shadow: 0, conventional: 0 };
  const common = { ...(signal ? { signal } : {}), ...(job.budgetBytes !== undefined ? { budgetBytes: job.budgetBytes } : {}) };
  const onEventOf = (run: CompareRun) => (event: TrainEvent): void => {
    if (event.status === 'step') losses[run].push(event.loss);
    if (event.status === 'resumed') losses[run] = event.history.map((p) => p.loss);
    job.onEvent({ status: 'compare-train', run, event });
  };
  const h = job.hooks ?? {};
  const sides = [['shadow', job.base], ['conventional', job.instruct]] as const;
  const say = (run: CompareRun, side: CompareSide): void => job.onEvent({ status: 'compare-message', message: `training ${runLabel(kind, run)}: ${side.name}` });
  if (kind.finetuningType === 'full') {
    if (job.data.stage !== 'sft') throw new Error('a full-parameter comparison trains stage sft only');
    if (h.done || h.resume || h.onCheckpoint || h.onRunDone) throw new Error('a full-parameter comparison is not checkpointed (its state is 12 bytes per parameter per run); run it without durable hooks');
    const tuned: Partial<Record<CompareRun, ReadonlyMap<string, Float32Array>>> = {};
    for (const [run, side] of sides) {
      say(run, side);
      const r = await runFullTraining({ ctx, config: side.config, base: side.checkpoint, train: job.data.train, settings: s, padTokenId: job.padTokenId, onEvent: onEventOf(run), ...common });
      signal?.throwIfAborted();
      if (r.status !== 'complete') throw stopped(r);
      tuned[run] = r.tensors;
      steps[run] = r.steps;
    }
    job.onEvent({ status: 'compare-message', message: 'grafting W_I + (W_B′ − W_B) in the Instruct\'s dtype (one rounding, as the download)' });
    const shadow = tuned.shadow as ReadonlyMap<string, Float32Array>;
    const weights = {
      tunedBase: await tunedCheckpoint(`${job.base.name} (tuned, full)`, job.base.checkpoint, shadow),
      tunedInstruct: await tunedCheckpoint(`${job.instruct.name} (tuned, full)`, job.instruct.checkpoint, tuned.conventional as ReadonlyMap<string, Float32Array>, 'like'),
      graft: await graftCheckpoint(`${job.instruct.name} + Shadow-FT graft (full)`, job.base.checkpoint, job.instruct.checkpoint, shadow),
    };
    return { trained: { finetuningType: 'full', weights }, steps, losses };
  }
  const adapters: Partial<Record<CompareRun, LoraAdapter>> = {};
  for (const [run, side] of sides) {
    const done = h.done?.[run];
    if (done) {
      adapters[run] = done.adapter;
      steps[run] = done.steps;
      losses[run] = [...done.losses];
      continue;
    }
    say(run, side);
    const resume = h.resume?.[run];
    const durable = { ...(resume ? { resume } : {}), ...(h.checkpointEvery ? { checkpointEvery: h.checkpointEvery } : {}), ...(h.onCheckpoint ? { onCheckpoint: (c: TrainCheckpoint) => (h.onCheckpoint as NonNullable<CompareHooks['onCheckpoint']>)(run, c) } : {}) };
    if (job.data.stage === 'dpo') {
      const r = await runPreferenceTraining({ ctx, config: side.config, base: side.checkpoint, train: job.data.train, settings: s, padTokenId: job.padTokenId, onEvent: onEventOf(run), ...common, ...durable });
      signal?.throwIfAborted();
      if (r.status !== 'complete') throw stopped(r);
      adapters[run] = r.adapter;
      steps[run] = r.steps;
    } else {
      const r = await trainAdapter(ctx, side.config, side.checkpoint, job.data.train, s, job.padTokenId, onEventOf(run), signal, job.budgetBytes, durable);
      adapters[run] = r.adapter;
      steps[run] = r.steps;
    }
    await h.onRunDone?.(run, { adapter: adapters[run] as LoraAdapter, steps: steps[run], losses: [...losses[run]] });
  }
  return { trained: { finetuningType: 'lora', adapters: { shadow: adapters.shadow as LoraAdapter, conventional: adapters.conventional as LoraAdapter } }, steps, losses };
}
