/**
 * The shape of the studio's zustand store: one slice per concern (files, gpu, similarity, training, export),
 * combined in index.ts. Slices talk to the engine only through worker/client.
 */
import type { StateCreator } from 'zustand';
import type { CompareSlice } from './compareSlice';
import type { HandoffSlice } from './handoffSlice';
import type { ResumeSlice } from './resumeSlice';
import type {
  AdapterFilesData, AdapterSummary, CheckRow, DatasetPreview, EvalModel, DroppedFile, ExportedZip, ExportProgress, GpuInfo, MemoryPlanView, RunEstimate, SessionSummary, SimilarityProgressEvent,
  SimilarityResult, TrainEvent, TrainSettings,
} from '../worker/client';
import type { LogLine, RunRecord } from './runHistory';
import type { RunProgressView, Speeds } from './runProgress';

/** Status of a long operation. */
export type OpStatus = 'idle' | 'running' | 'done' | 'cancelled' | 'error';

/** Dropped files and what the worker recognised. */
export interface FilesSlice {
  session: SessionSummary | null;
  filesBusy: boolean;
  /** A failure outside recognition (e.g. the demo could not be fetched). */
  filesError: string | null;
  addFiles(files: readonly DroppedFile[]): Promise<void>;
  loadDemo(): Promise<void>;
  clearFiles(): Promise<void>;
  swapRoles(): Promise<void>;
  /** Ticks / unticks a dataset file for training. */
  setDatasetEnabled(path: string, enabled: boolean): Promise<void>;
  /** Removes one dataset file. */
  removeDataset(path: string): Promise<void>;
}

/** The dataset preview of the current settings (not persisted). */
export interface PreviewSlice {
  preview: { data: DatasetPreview | null; error: string | null; busy: boolean };
  /** Re-renders the preview for the current session and settings (no-op without a pair and datasets). */
  refreshPreview(): Promise<void>;
}

/** The WebGPU adapter of the worker. */
export interface GpuSlice {
  gpu: { status: 'pending' | 'ready' | 'error' | 'lost'; info: GpuInfo | null; error: string | null };
  initGpu(): Promise<void>;
}

/** The σ computation and its last result (persisted). */
export interface SimilaritySlice {
  similarity: { status: OpStatus; progress: SimilarityProgressEvent | null; result: SimilarityResult | null; error: string | null };
  computeSimilarity(): Promise<void>;
  cancelSimilarity(): void;
}

/** A held-out loss reported by TrainEvent 'eval'. */
export interface EvalLoss {
  readonly model: EvalModel;
  readonly when: 'before' | 'after';
  readonly loss: number;
}

/** Held-out preference metrics of one model (stage dpo), as reported by TrainEvent 'pref-eval'. */
export type PrefEvalView = Omit<Extract<TrainEvent, { status: 'pref-eval' }>, 'status'>;

/** One optimizer step as reported by TrainEvent 'step'. */
export interface StepPoint {
  readonly step: number;
  readonly loss: number;
  readonly learningRate: number;
  readonly gradNorm: number;
}

/** A held-out loss of Base + LoRA measured during training (TrainEvent 'eval-step'). */
export interface EvalPoint {
  readonly step: number;
  readonly loss: number;
}

/** The live state of the current run. */
export interface TrainingRun {
  readonly status: OpStatus;
  /** Id of the run in the history (runHistory.ts newRunId), created when it starts; null before the first run. */
  readonly runId: string | null;
  /** Cancel was clicked and the run has not stopped yet ("Cancelling…"). */
  readonly cancelling: boolean;
  /** Last 'preparing' / 'evaluating' message. */
  readonly message: string;
  readonly points: readonly StepPoint[];
  readonly totalSteps: number;
  readonly tokensPerSec: number;
  readonly evals: readonly EvalLoss[];
  /** Held-out losses during training (Evaluate every N steps), in step order. */
  readonly evalPoints: readonly EvalPoint[];
  /** Stage dpo: held-out preference metrics (absent for SFT runs). */
  readonly prefEvals?: readonly PrefEvalView[];
  readonly error: string | null;
  /** Every 'preparing' / 'evaluating' message of the run with the time it arrived (the memory plan among them). */
  readonly log: readonly LogLine[];
  /** Whole-run progress (tokenise, load, evaluations and steps: runProgress.ts), null without an estimate. */
  readonly progress: RunProgressView | null;
}

/** The estimate of a run with the current settings (app/runEstimate.ts) and the speeds that turn it into time. */
export interface EstimateState {
  readonly data: RunEstimate | null;
  readonly error: string | null;
  readonly speeds: Speeds;
}

/** Training settings (persisted), the live run, and the estimate of the next one. */
export interface TrainingSlice {
  settings: TrainSettings | null;
  /** "base|instruct" names the settings were made for; defaults replace them when another pair is loaded. */
  settingsFor: string | null;
  /** The defaults the settings were derived from (settingsDefaults.ts tells the user's edits from them). */
  defaults: TrainSettings | null;
  run: TrainingRun;
  /**
   * The full-parameter run whose tuned weights W_B′ the worker holds (this tab only: they are not kept in browser
   * storage), null when the last run was a LoRA one or none ran in this tab.
   */
  fullRunId: string | null;
  estimate: EstimateState;
  setSettings(s: TrainSettings): void;
  resetSettings(): void;
  /** Re-plans the next run for the current settings (no-op without a pair and data). */
  refreshEstimate(): Promise<void>;
  startTraining(): Promise<void>;
  /** Asks the run to stop; `run.cancelling` is true at once. */
  cancelTraining(): void;
}

/** Every run of this browser (runHistory.ts) and which one the export panel exports. */
export interface RunHistorySlice {
  /** Newest first. */
  runs: readonly RunRecord[];
  /** The run whose adapter the export panel exports (null: none). */
  exportRunId: string | null;
  historyError: string | null;
  /** Reads the history from IndexedDB (at start-up). */
  loadRuns(): Promise<void>;
  /** Makes run `id` the one exported (its adapter becomes the worker's current one before an export). */
  selectExportRun(id: string): void;
  /** The run deleted last, with its adapter's bytes, until Undo or the next delete (null: none). */
  deletedRun: { readonly record: RunRecord; readonly adapter: AdapterFilesData | null; readonly conventional?: AdapterFilesData | null } | null;
  /** Deletes run `id` and its adapter (refused for the live run); {@link undoDelete} puts them back. */
  deleteRun(id: string): Promise<void>;
  /** Writes the last deleted run and its adapter back into the history (no-op when there is none). */
  undoDelete(): Promise<void>;
  /** The stored adapter files of run `id`, or null when it has none. Rejects with the storage error. */
  runAdapter(id: string): Promise<AdapterFilesData | null>;
  /**
   * Makes the worker's current adapter the one of the export run (restoreAdapter) when it is not already.
   * @throws Error when the run or its adapter is not in the history.
   */
  ensureExportAdapter(): Promise<RunRecord>;
  /** Writes a run record into the history and the list (the training slice calls it). */
  saveRun(record: RunRecord, adapter?: AdapterFilesData, conventional?: AdapterFilesData): Promise<void>;
  /** Both adapters of comparison `id` (kind "compare"), or null when they are not stored. Rejects with the storage error. */
  compareAdapters(id: string): Promise<Record<'shadow' | 'conventional', AdapterFilesData> | null>;
  /** The worker's adapter now belongs to run `id` (after training). */
  adapterIsFrom(id: string): void;
}

/** Exports of the trained adapter. */
export interface ExportSlice {
  exporting: { kind: 'adapter' | 'merged' | 'folder' | 'loaded-adapter' | 'tuned-base' | 'full-merged' | null; progress: ExportProgress | null; error: string | null; message: string | null };
  /** Warnings of the last "Load adapter" merge (key check: adapter-name form read, target_modules without tensors). */
  loadedAdapterWarnings: readonly string[];
  /**
   * "Load adapter": merges a PEFT adapter trained elsewhere (its adapter_config.json + adapter_model.safetensors)
   * onto the loaded Instruct model; the merged zip, or null after an error (shown in `exporting.error`).
   */
  mergeLoadedAdapter(files: readonly File[]): Promise<ExportedZip | null>;
  /**
   * base_model_name_or_path of exported adapters, as typed in the export panel (blank: the Hub id in the Instruct's
   * config.json, else its folder name).
   */
  adapterBaseModel: string;
  setAdapterBaseModel(v: string): void;
  /** The adapter zip, or null after an error (shown in `exporting.error`). */
  exportAdapter(): Promise<ExportedZip | null>;
  exportMerged(): Promise<ExportedZip | null>;
  /** Full-parameter run (the worker's last run, this tab only): the tuned Base W_B′ zip, or null after an error. */
  exportTunedBase(): Promise<ExportedZip | null>;
  /** Full-parameter run: the merged Instruct W_I + (W_B′ − W_B) zip, or null after an error. */
  exportFullMerged(): Promise<ExportedZip | null>;
  saveToFolder(dir: FileSystemDirectoryHandle): Promise<void>;
  cancelExport(): void;
}

/** The GPU memory plan of the current settings. */
export interface PlanSlice {
  memory: { view: MemoryPlanView | null; error: string | null };
  /** Recomputes the plan for the current settings (no-op without a pair or a GPU). */
  refreshPlan(): Promise<void>;
}

/** One fixture model of the GPU check as it streams in. */
export interface ModelCheckView {
  readonly name: string;
  readonly status: 'waiting' | 'running' | 'done' | 'error';
  /** Rows in the order the engine produced them. */
  readonly rows: readonly CheckRow[];
  /** Files fetched, their bytes and how they were verified against the manifest (null until fetched). */
  readonly fetched: { readonly files: number; readonly bytes: number; readonly verified: 'sha256' | 'size' } | null;
  readonly error: string | null;
  /** Wall time of fetch + check, seconds (null until it ends). */
  readonly seconds: number | null;
}

/** The "Check this GPU" run: the bundled golden fixtures on the worker's adapter (not persisted). */
export interface GpuCheckState {
  readonly status: OpStatus;
  readonly adapter: AdapterSummary | null;
  readonly models: readonly ModelCheckView[];
  /** An error that stopped the whole check (manifest, device, busy GPU). Per-model errors are in `models`. */
  readonly error: string | null;
  /** Wall time of the whole check, seconds (null until it ends). */
  readonly seconds: number | null;
}

/** The GPU self-test against the bundled fixtures. */
export interface GpuCheckSlice {
  gpuCheck: GpuCheckState;
  /** Starts the check (no-op while it or training runs). */
  startGpuCheck(): Promise<void>;
  cancelGpuCheck(): void;
}

/** The whole store. */
export type StudioState = FilesSlice & PreviewSlice & GpuSlice & SimilaritySlice & TrainingSlice & PlanSlice & ExportSlice & GpuCheckSlice & HandoffSlice & ResumeSlice & RunHistorySlice & CompareSlice;

/** A slice creator over the whole store. */
export type Slice<T> = StateCreator<StudioState, [], [], T>;

/** The message of anything thrown (Errors crossing comlink keep their message). */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'object' && e !== null && 'message' in e && typeof e.message === 'string') return e.message;
  return String(e);
}

/** True for an AbortError (the user cancelled). */
export function isAbort(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'name' in e && e.name === 'AbortError';
}

/** "base|instruct" key of a session's compatible pair, or null. */
export function pairKey(s: SessionSummary | null): string | null {
  return s?.pairReady && s.base && s.instruct ? `${s.base.name}|${s.instruct.name}` : null;
}
