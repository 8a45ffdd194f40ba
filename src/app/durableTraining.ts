/**
 * A studio run that survives what tabs and GPUs do: it saves a checkpoint to browser storage (checkpointStore.ts)
 * every N optimizer steps (default: about one minute of work, engine/train/run.ts AUTO_CHECKPOINT_SECONDS) and at
 * cancel; after a reload it resumes from the stored checkpoint (the pair must be loaded again; its content id is
 * checked); when the GPU device is lost during the run it recovers once, on a new device, from the last checkpoint
 * of this run (from step 0 when none was saved yet).
 */
import type { GpuContext } from '../engine/gpu/context';
import { layoutSlots } from '../engine/model/lora';
import type { TrainCheckpoint } from '../engine/train/checkpoint';
import type { TrainEvent, TrainSettings } from '../engine/train/types';
import { checkpointContentId } from '../io/contentId';
import { checkpointStorageAvailable, clearRunCheckpoint, loadRunCheckpoint, requireCheckpointSpace, saveRunCheckpoint } from './checkpointStore';
import type { Session } from './session';
import { trainOnSession, type TrainOutcome } from './training';
import type { TrainedAdapter } from './exports';
import type { TrainedFull } from './fullTraining';
import { isFullRun } from '../engine/train/runFull';
import { fullCheckpointBytes } from '../engine/train/fullCheckpoint';
import { planFullMemory } from '../engine/plan/fullMemory';

/** Options of a durable run. */
export interface DurableOptions {
  /** optimizer steps between checkpoints; absent or 0 = about one minute of work */
  readonly checkpointEvery?: number;
  /** go on without checkpoints when one cannot be saved (default: stop with the error) */
  readonly continueWithoutCheckpoints?: boolean;
  /** the run-history record (id, ISO start time) the checkpoints belong to, so a resume continues that record */
  readonly runId?: string;
  readonly startedAt?: string;
}

/**
 * Bytes of a checkpoint of `settings` on the loaded Base: LoRA params + AdamW m and v (f32), plus the header; for
 * finetuning_type full the f32 weights + AdamW m and v of every trained tensor, 12 bytes per trained parameter
 * (engine/train/fullCheckpoint.ts, counted by the full memory plan).
 */
export function checkpointBytes(session: Session, settings: TrainSettings): number {
  const { base } = session.requirePair();
  if (isFullRun(settings)) return fullCheckpointBytes(planFullMemory(base.config, { batchSize: 1, maxLength: 1, recompute: true, trainEmbeddings: settings.trainEmbeddings ?? true }, 2, UNLIMITED).trainableParams);
  return layoutSlots(base.config, settings.lora).numel * 4 * 3 + (1 << 16);
}

/** Device limits that never bind (only the parameter count of a plan is read). */
const UNLIMITED = { maxBufferSize: Number.MAX_SAFE_INTEGER, maxStorageBufferBindingSize: Number.MAX_SAFE_INTEGER, minStorageBufferOffsetAlignment: 256 };

/** How a durable run ended: the outcome and the kept weights (a LoRA adapter, or W_B′ of a full run). */
export interface DurableRun {
  readonly outcome: TrainOutcome;
  readonly trained: TrainedAdapter | null;
  readonly full?: TrainedFull;
}

/** Waits up to `ms` for the device to be reported lost. */
async function wasLost(ctx: GpuContext, ms = 2000): Promise<string | null> {
  return Promise.race([ctx.lost, new Promise<null>((r) => setTimeout(() => r(null), ms))]);
}

/**
 * Trains (or resumes, with `resume`) on the session's pair with checkpoints in browser storage, recovering once from
 * a lost device. Storage is used when the runtime has it (a browser); otherwise the run has no checkpoints.
 * @param gpu returns the current GPU context (a new one after a loss)
 * @throws CheckpointStorageError before the run when two checkpoints do not fit the quota; CheckpointSaveError when
 *   a save fails (unless continueWithoutCheckpoints); CheckpointMismatchError for a checkpoint of another run;
 *   whatever trainOnSession throws (a second device loss included).
 */
export async function trainDurably(
  session: Session,
  gpu: () => Promise<GpuContext>,
  settings: TrainSettings,
  onEvent: (e: TrainEvent) => void,
  signal: AbortSignal,
  opts: DurableOptions = {},
  resume?: TrainCheckpoint,
): Promise<DurableRun> {
  const pair = session.requirePair();
  const datasets = session.current().datasets.filter((d) => d.enabled && d.error === null).map((d) => d.path);
  const names = { baseModel: pair.base.model.files.name, instructModel: pair.instruct.model.files.name, datasets };
  const storage = checkpointStorageAvailable();
  if (storage) await requireCheckpointSpace(checkpointBytes(session, settings));
  else onEvent({ status: 'preparing', message: 'this runtime has no browser storage: the run is not checkpointed' });
  const modelId = await checkpointContentId(pair.base.checkpoint);
  let last: TrainCheckpoint | undefined = resume;
  let recovered = false;
  for (;;) {
    const ctx = await gpu();
    try {
      const r = await trainOnSession(session, ctx, settings, onEvent, signal, {
        modelId,
        ...(last ? { resume: last } : {}),
        ...(opts.checkpointEvery ? { checkpointEvery: opts.checkpointEvery } : {}),
        ...(opts.continueWithoutCheckpoints ? { continueWithoutCheckpoints: true } : {}),
        onCheckpoint: async (c) => {
          if (storage) await saveRunCheckpoint(c, { ...names, runId: opts.runId, startedAt: opts.startedAt });
          last = c;
        },
      });
      if (r.result.status === 'complete' && storage) await clearRunCheckpoint();
      return { outcome: r.outcome, trained: r.trained, ...(r.full ? { full: r.full } : {}) };
    } catch (e) {
      const lost = signal.aborted || recovered ? null : await wasLost(ctx);
      if (lost === null) throw e;
      recovered = true;
      onEvent({ status: 'preparing', message: `${lost}; recovering once on a new GPU device from ${last ? `the checkpoint after step ${last.step}` : 'the start (no checkpoint was saved yet)'}` });
    }
  }
}

/**
 * Resumes the stored unfinished run on the loaded pair.
 * @throws Error naming the folders to drop again when the loaded pair has other names; CheckpointMismatchError when
 *   the dropped Base is not the same model (content id), or the data or app version differ; as {@link trainDurably}.
 */
export async function resumeDurably(session: Session, gpu: () => Promise<GpuContext>, onEvent: (e: TrainEvent) => void, signal: AbortSignal, opts: DurableOptions = {}): Promise<DurableRun> {
  const { info, checkpoint } = await loadRunCheckpoint();
  let pair;
  try {
    pair = session.requirePair();
  } catch {
    pair = null;
  }
  if (!pair || pair.base.model.files.name !== info.baseModel || pair.instruct.model.files.name !== info.instructModel) {
    throw new Error(`To resume, drop the folders ${info.baseModel} (Base) and ${info.instructModel} (Instruct) again, with the same datasets.`);
  }
  const record = { ...(info.runId ? { runId: info.runId } : {}), ...(info.startedAt ? { startedAt: info.startedAt } : {}) };
  return trainDurably(session, gpu, checkpoint.settings, onEvent, signal, { ...opts, ...record }, checkpoint);
}
