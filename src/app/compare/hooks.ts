/**
 * Optional hooks of a LoRA comparison (SFT or DPO; compare/runCompare.ts, compare/trainRuns.ts) that make it durable
 * (app/durableCompare.ts): checkpoints of
 * the training run under way and a resume from one, already-trained adapters for a subset of the two runs, a
 * callback when a run's adapter is final, and already-measured models whose held-out loss and answers are reused.
 * Without hooks a comparison runs as before, from scratch and without checkpoints.
 */
import type { TrainCheckpoint } from '../../engine/train/checkpoint';
import type { LoraAdapter } from '../../engine/model/loraTypes';
import type { VariantMeasures } from './evaluate';
import type { CompareModel, CompareRun } from './types';

/** An adapter a comparison's training run produced: the adapter, its optimizer steps and per-step training losses. */
export interface TrainedRun {
  readonly adapter: LoraAdapter;
  readonly steps: number;
  readonly losses: readonly number[];
}

/** The hooks (all optional); see the file comment. */
export interface CompareHooks {
  /** Runs a resumed comparison finished before: not trained again (their adapters, steps and losses are used). */
  readonly done?: Partial<Readonly<Record<CompareRun, TrainedRun>>>;
  /** Continue run `r` from this state (engine/train/run.ts TrainJob.resume; refused by name for another run's). */
  readonly resume?: Partial<Readonly<Record<CompareRun, TrainCheckpoint>>>;
  /** optimizer steps between checkpoints (TrainJob.checkpointEvery; absent or 0: about one minute of work) */
  readonly checkpointEvery?: number;
  /** Saves a checkpoint of run `run` (awaited; a rejection stops the comparison with runTraining's CheckpointSaveError). */
  onCheckpoint?(run: CompareRun, c: TrainCheckpoint): Promise<void>;
  /** Called (awaited) as soon as run `run` has its final adapter, before the next stage starts. */
  onRunDone?(run: CompareRun, trained: TrainedRun): Promise<void>;
  /** Models measured by an earlier attempt of the same comparison: not measured again, their measures are reused. */
  readonly measured?: Partial<Readonly<Record<CompareModel, VariantMeasures>>>;
  /** Called (awaited) as soon as a model's held-out loss and answers are measured. */
  onMeasured?(model: CompareModel, m: VariantMeasures): Promise<void>;
}
