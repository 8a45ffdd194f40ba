/**
 * The comparison's only call of the engine's training run (engine/train/run.ts runTraining): one LoRA adapter trained
 * on one checkpoint, without held-out evaluation (the comparison evaluates every model itself, the same way).
 * Kept in one function so a change of runTraining's return type is adapted here only.
 */
import type { Checkpoint } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import type { TokenizedExample } from '../../io/dataset/types';
import type { GpuContext } from '../../engine/gpu/context';
import type { LoraAdapter } from '../../engine/model/loraTypes';
import type { TrainCheckpoint } from '../../engine/train/checkpoint';
import { runTraining } from '../../engine/train/run';
import type { TrainEvent, TrainSettings } from '../../engine/train/types';

/** A trained adapter and the optimizer steps it took. */
export interface TrainedLora {
  readonly adapter: LoraAdapter;
  readonly steps: number;
}

/** Checkpoint options of one training run (engine/train/run.ts TrainJob's fields of the same names). */
export interface TrainDurability {
  readonly resume?: TrainCheckpoint;
  readonly checkpointEvery?: number;
  onCheckpoint?(c: TrainCheckpoint): Promise<void>;
}

/**
 * Trains LoRA on `checkpoint` with `settings` (LoRA init, data order and dropout all follow settings.seed, so two calls
 * with the same settings and data start from the same adapter and see the same batches). GPU memory is freed on return.
 * `durable` continues a checkpoint and saves new ones (app/durableCompare.ts); a run resumed at its last step only
 * reads its adapter back.
 * @throws CheckpointMismatchError for a `durable.resume` of another run; CheckpointSaveError when a save fails;
 *   the signal's reason when cancelled (a comparison with a partial adapter is not a comparison); everything
 *   runTraining throws (SettingsError, MemoryPlanError, WeightShapeError, DeviceLimitError).
 */
export async function trainAdapter(
  ctx: GpuContext,
  config: ModelConfig,
  checkpoint: Checkpoint,
  train: readonly TokenizedExample[],
  settings: TrainSettings,
  padTokenId: number,
  onEvent: (e: TrainEvent) => void,
  signal: AbortSignal | undefined,
  budgetBytes?: number,
  durable: TrainDurability = {},
): Promise<TrainedLora> {
  const { resume, checkpointEvery, onCheckpoint } = durable;
  const r = await runTraining({
    ctx, config, base: checkpoint, train, settings, padTokenId, onEvent, ...(signal ? { signal } : {}), ...(budgetBytes !== undefined ? { budgetBytes } : {}),
    ...(resume ? { resume } : {}), ...(checkpointEvery ? { checkpointEvery } : {}), ...(onCheckpoint ? { onCheckpoint } : {}),
  });
  signal?.throwIfAborted();
  if (r.status !== 'complete') throw new DOMException(`training stopped after ${r.steps} of ${r.totalSteps} steps`, 'AbortError');
  return { adapter: r.adapter, steps: r.steps };
}
