/**
 * The studio store: zustand slices combined into one store (files, gpu, similarity, training, memory plan, export,
 * GPU check, handoff, compare + Try it).
 * Components read it with `useStudio(selector)` and call its actions; only the slices talk to the worker.
 */
import { create } from 'zustand';
import { createCompareSlice } from './compareSlice';
import { createExportSlice } from './exportSlice';
import { createFilesSlice } from './filesSlice';
import { createGpuCheckSlice } from './gpuCheckSlice';
import { createGpuSlice } from './gpuSlice';
import { createHandoffSlice } from './handoffSlice';
import { createPlanSlice } from './planSlice';
import { createPreviewSlice } from './previewSlice';
import { createSimilaritySlice } from './similaritySlice';
import { createTrainingSlice } from './trainingSlice';
import { createResumeSlice } from './resumeSlice';
import { createRunHistorySlice } from './runHistorySlice';
import type { StudioState } from './types';

export type { EstimateState, EvalLoss, EvalPoint, GpuCheckState, ModelCheckView, OpStatus, StepPoint, StudioState, TrainingRun } from './types';
export type { LogLine, RunRecord, RunStatus } from './runHistory';
export type { RunProgressView } from './runProgress';
export { hydrate, persistChanges } from './persist';

/** The store hook (and its API: useStudio.getState(), useStudio.subscribe()). */
export const useStudio = create<StudioState>()((...a) => ({
  ...createFilesSlice(...a),
  ...createGpuSlice(...a),
  ...createSimilaritySlice(...a),
  ...createTrainingSlice(...a),
  ...createRunHistorySlice(...a),
  ...createPlanSlice(...a),
  ...createPreviewSlice(...a),
  ...createExportSlice(...a),
  ...createGpuCheckSlice(...a),
  ...createHandoffSlice(...a),
  ...createCompareSlice(...a),
  ...createResumeSlice(...a),
}));
