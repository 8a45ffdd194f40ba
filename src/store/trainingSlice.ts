/**
 * Training slice: the settings form values (persisted), the live run fed by TrainEvents from the worker, and the
 * last finished run with its adapter files (persisted, so exports work again after a reload).
 */
import { engineClient, type TrainEvent } from '../worker/client';
import { errorMessage, isAbort, type Slice, type TrainingRun, type TrainingSlice } from './types';

/** A run that has not started. */
export const IDLE_RUN: TrainingRun = { status: 'idle', message: '', points: [], totalSteps: 0, tokensPerSec: 0, etaSec: 0, evals: [], error: null, log: [] };

/** The run after one TrainEvent. */
export function applyTrainEvent(run: TrainingRun, e: TrainEvent): TrainingRun {
  switch (e.status) {
    case 'preparing':
      return { ...run, message: e.message, log: [...run.log, e.message] };
    case 'evaluating':
      // Per-batch progress replaces the message; only the announcement of an evaluation goes into the log.
      return { ...run, message: e.message, log: e.batch ? run.log : [...run.log, e.message] };
    case 'step':
      return {
        ...run,
        message: '',
        points: [...run.points, { step: e.step, loss: e.loss, learningRate: e.learningRate, gradNorm: e.gradNorm }],
        totalSteps: e.totalSteps,
        tokensPerSec: e.tokensPerSec,
        etaSec: e.etaSec,
      };
    case 'eval':
      return { ...run, log: e.cached ? [...run.log, `held-out loss of ${e.model} before training: ${e.loss.toFixed(4)} (from an earlier run on the same pair and data)`] : run.log, evals: [...run.evals.filter((x) => x.model !== e.model || x.when !== e.when), { model: e.model, when: e.when, loss: e.loss }] };
    case 'resumed':
      return { ...run, points: e.history.map((p) => ({ step: p.step, loss: p.loss, learningRate: p.lr, gradNorm: p.gradNorm })), totalSteps: e.totalSteps, log: [...run.log, `resuming at step ${e.step} of ${e.totalSteps}`] };
    case 'checkpoint':
      return e.error ? { ...run, log: [...run.log, `checkpoint after step ${e.step} not saved: ${e.error}`] } : run;
    case 'done':
      return { ...run, message: 'saving the adapter' };
    case 'cancelled':
      return { ...run, message: `cancelled after ${e.steps} steps` };
    case 'error':
      return { ...run, error: e.message };
  }
}

/** Creates the training slice. */
export const createTrainingSlice: Slice<TrainingSlice> = (set, get) => {
  let controller: AbortController | null = null;
  return {
    settings: null,
    settingsFor: null,
    defaults: null,
    run: IDLE_RUN,
    lastRun: null,
    setSettings: (settings) => set({ settings }),
    resetSettings: () => {
      const d = get().defaults;
      if (d) set({ settings: d });
    },
    startTraining: async () => {
      const settings = get().settings;
      if (!settings || controller) return;
      const c = new AbortController();
      controller = c;
      set({ run: { ...IDLE_RUN, status: 'running', message: 'starting' } });
      try {
        const outcome = await engineClient.train(settings, (e) => set({ run: applyTrainEvent(get().run, e) }), c.signal, get().checkpointOptions());
        const run = get().run;
        const last = run.points[run.points.length - 1];
        set({
          run: { ...run, status: outcome.status, message: '' },
          lastRun: { outcome, points: run.points, evals: run.evals, finalLoss: last?.loss ?? null, totalSteps: run.totalSteps, finishedAt: new Date().toISOString() },
        });
      } catch (e) {
        set({ run: { ...get().run, status: isAbort(e) ? 'cancelled' : 'error', message: '', error: isAbort(e) ? null : errorMessage(e) } });
      } finally {
        controller = null;
        void get().afterRun();
      }
    },
    cancelTraining: () => controller?.abort(),
  };
};
