/**
 * The worker protocol: the API type is derived from the worker code (`typeof api`, the squoosh pattern), never
 * written twice, and the data types that cross the boundary are re-exported from where they are defined.
 * Everything here is a type except TARGET_MODULES (the list of LoRA-targetable linears) and COMPARE_MODELS /
 * COMPARE_MODEL_LABELS / DEFAULT_COMPARE_OPTIONS (the comparison's five models, their names, its defaults), constants the UI shows.
 * Progress is the one discriminated union on `status` of src/app/progress.ts (EngineProgress).
 */
import type { api } from './engine.worker';

/** The worker API as seen from the main thread (every method returns a Promise there). */
export type EngineApi = typeof api;

export type { GpuInfo, SimilarityResult } from '../app/studio';
export type { EngineProgress, EvalModel, ExportProgress, GpuCheckProgress, ProgressOf, SimilarityProgressEvent, TrainEvent, TrainPhase } from '../app/progress';
export type { ExportedZip, LoadedAdapterMerge } from '../app/exports';
export type { GpuCheckResult, ModelCheckResult } from '../app/gpuCheck';
export type { GraftCheckResult, GraftOptions, HandoffOptions } from '../app/handoffExports';
export type { CheckRow } from '../engine/check/compare';
export type { DatasetSummary, ModelSummary, SessionSummary } from '../app/session';
export type { AdapterFilesData, MemoryPlanView, TrainOutcome } from '../app/training';
export type { DatasetPreview, PreviewRow } from '../app/datasetPreview';
export type { DurableOptions } from '../app/durableTraining';
export type { ResumableRun } from '../app/checkpointStore';
export type { RunEstimate } from '../app/runEstimate';
export type { SpeedSample } from '../app/speedWarmup';
export type { CompareEstimate } from '../app/compareEstimate';
export type { ResumableCompare } from '../app/durableCompare';
export type { ScheduleCheck } from '../engine/train/scheduleWarnings';
export type { GenerateSettings } from '../engine/generate/generate';
export type { SkippedRow } from '../io/dataset/types';
export type { MemoryPlan, PlanLine } from '../engine/plan/memory';
export type { DroppedFile, IgnoredFile } from '../io/folder';
export type { SimilarityReport, SimilarityRow, SimilaritySummary, SigmaAggregate } from '../engine/analysis/similarity';
export type { AdapterSummary, DeviceLimits } from '../engine/gpu/context';
export type { TrainSettings } from '../engine/train/types';
export type { LoraSettings, TargetModule } from '../engine/model/loraTypes';
export { TARGET_MODULES } from '../engine/model/loraTypes';
export type { CompareView, CompareSample } from '../app/compareSession';
export type { CompareAnswer, CompareEvent, CompareModel, CompareOptions, CompareResult, CompareRun, PerModel } from '../app/compare/types';
export { COMPARE_MODELS, COMPARE_MODEL_LABELS, DEFAULT_COMPARE_OPTIONS, PREFERENCE_MEASURES } from '../app/compare/types';
export type { PreferenceMeasure } from '../app/compare/types';
export { compareModelLabels, resultLabels, runLabel } from '../app/compare/kind';
export type { CompareKind } from '../app/compare/kind';
export type { Verdict, VerdictMeasure, Wording } from '../app/compare/wording';
export type { TryEvent, TryModel as TryItModel, TryModelInfo, TryReply, TryRequest } from '../app/tryit';
export type { ChatTurn } from '../app/generate';

