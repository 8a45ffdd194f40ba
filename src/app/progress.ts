/**
 * Every progress event of the studio's long operations, defined once: one discriminated union on `status`
 * ({@link EngineProgress}). σ ('similarity'), exports ('export'), the GPU check ('check-*'), the comparison ('compare-*') and Try it ('try-*') are defined here; the
 * training run's events are the engine's {@link TrainEvent} (src/engine/train/types.ts: the engine cannot import the
 * app) and are re-exported. Import progress types from here (or the worker protocol, which re-exports them); never
 * redefine one.
 */
import type { AdapterSummary } from '../engine/gpu/context';
import type { CheckRow } from '../engine/check/compare';
import type { TrainEvent } from '../engine/train/types';
import type { CompareAnswer, CompareModel, CompareRun } from './compare/types';
import type { TryModel, TryReply } from './tryit';

export type { EvalModel, TrainEvent, TrainPhase } from '../engine/train/types';

/** Progress of the σ computation: file bytes read (both checkpoints) and the tensor being read. */
export interface SimilarityProgressEvent {
  readonly status: 'similarity';
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly tensor: string;
}

/** Progress of an export: bytes of the file being produced. */
export interface ExportProgress {
  readonly status: 'export';
  readonly file: string;
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

/** Progress of the GPU check, a discriminated union on `status` (all statuses start with "check-"). */
export type GpuCheckProgress =
  /** The device is ready; `models` are checked in this order. */
  | { readonly status: 'check-start'; readonly adapter: AdapterSummary; readonly models: readonly string[] }
  /** A model's files were fetched and verified (`verified`: "sha256" or "size" when crypto.subtle is unavailable). */
  | { readonly status: 'check-fetched'; readonly model: string; readonly files: number; readonly bytes: number; readonly verified: 'sha256' | 'size' }
  /** One checked quantity of `model` (engine/check/compare.ts CheckRow). */
  | { readonly status: 'check-row'; readonly model: string; readonly row: CheckRow }
  /** `model` finished; seconds of wall time including the fetch. */
  | { readonly status: 'check-model-done'; readonly model: string; readonly passed: number; readonly failed: number; readonly seconds: number }
  /** `model` could not be checked (fetch, verification or engine error); the check goes on with the next model. */
  | { readonly status: 'check-model-error'; readonly model: string; readonly message: string; readonly seconds: number };

/** Every progress event any worker operation reports, discriminated on `status`. */
/** Progress of a comparison, one union on `status` (all statuses start with "compare-"). */
export type CompareEvent =
  | { readonly status: 'compare-message'; readonly message: string }
  /** An event of one of the two training runs (its 'step' events are the two loss curves). */
  | { readonly status: 'compare-train'; readonly run: CompareRun; readonly event: TrainEvent }
  | { readonly status: 'compare-eval'; readonly model: CompareModel; readonly batch: number; readonly batches: number }
  | { readonly status: 'compare-loss'; readonly model: CompareModel; readonly loss: number }
  | { readonly status: 'compare-generating'; readonly model: CompareModel; readonly prompt: number; readonly prompts: number }
  | { readonly status: 'compare-answer'; readonly model: CompareModel; readonly answer: CompareAnswer }
  | { readonly status: 'compare-done' }
  /**
   * A durable comparison continues (app/durableCompare.ts): these runs are already trained (their adapters and loss
   * curves restored), these models already measured (their results reused), and the run under way resumes from its
   * checkpoint after `checkpoint.step` steps (null: none).
   */
  | {
      readonly status: 'compare-resumed';
      readonly trained: readonly { readonly run: CompareRun; readonly steps: number; readonly losses: readonly number[] }[];
      readonly measured: readonly CompareModel[];
      readonly checkpoint: { readonly run: CompareRun; readonly step: number; readonly totalSteps: number } | null;
    };

/** Streamed progress of Try it, one union on `status` (all statuses start with "try-"). */
export type TryEvent =
  | { readonly status: 'try-loading'; readonly model: TryModel; readonly message: string }
  /** the answer so far (decoded, special tokens skipped) */
  | { readonly status: 'try-token'; readonly model: TryModel; readonly text: string; readonly tokens: number }
  | { readonly status: 'try-reply'; readonly model: TryModel; readonly reply: TryReply };

export type EngineProgress = SimilarityProgressEvent | TrainEvent | ExportProgress | GpuCheckProgress | CompareEvent | TryEvent;

/** The member of {@link EngineProgress} with status `S`. */
export type ProgressOf<S extends EngineProgress['status']> = Extract<EngineProgress, { readonly status: S }>;
