/**
 * Training slice: the settings form values (persisted), the estimate of the next run (steps, time), and the live
 * run fed by TrainEvents from the worker (followed by runTracking.ts, which also keeps the run's own record in the run
 * history). Every run gets an id when it starts; a resumed run (resumeSlice.ts) keeps its id and record.
 */
import { emaSmooth } from './ema';
import { engineClient, type TrainEvent } from '../worker/client';

type PrefMetrics = Extract<TrainEvent, { status: 'pref-eval' }>['metrics'];
import { newRunId, type LogLine, type RunRecord } from './runHistory';
import { ASSUMED_FALLBACK_SPEEDS, ASSUMED_SPEEDS, type Speeds } from './runProgress';
import { cancelActiveRun, currentDevice, runActive, trackRun } from './runTracking';
import { startWarmup, warmupKey, warmupSample, withWarmup } from './speedWarmup';
import { errorMessage, type Slice, type TrainingRun, type TrainingSlice } from './types';

/** A run that has not started. */
export const IDLE_RUN: TrainingRun = { status: 'idle', runId: null, cancelling: false, message: '', points: [], totalSteps: 0, tokensPerSec: 0, evals: [], evalPoints: [], error: null, log: [], progress: null };


/** One log line for held-out preference metrics (stage dpo). */
export function prefEvalLine(e: Extract<TrainEvent, { status: 'pref-eval' }>): string {
  const m = e.metrics;
  return `held-out preference metrics of ${e.model} ${e.when} training: ${prefMetricsText(m, e.loss)}${e.cached ? ' (held-out log-probs from the checkpoint or an earlier run on the same pair and data)' : ''}`;
}

function prefMetricsText(m: PrefMetrics, loss: number): string {
  return `accuracy ${(100 * m.accuracy).toFixed(1)}%, margin ${m.margin.toFixed(4)}, log-probs chosen ${m.logpsChosen.toFixed(3)} / rejected ${m.logpsRejected.toFixed(3)}, loss ${loss.toFixed(4)}`;
}

/** The run after one TrainEvent received at `at` (ISO time, for the log). */
export function applyTrainEvent(run: TrainingRun, e: TrainEvent, at: string): TrainingRun {
  const log = (text: string): readonly LogLine[] => [...run.log, { at, text }];
  switch (e.status) {
    case 'preparing':
      return { ...run, message: e.message, log: log(e.message) };
    case 'evaluating':
      // Per-batch progress replaces the message; only the announcement of an evaluation goes into the log.
      return { ...run, message: e.message, log: e.batch ? run.log : log(e.message) };
    case 'step':
      return {
        ...run,
        message: '',
        points: [...run.points, { step: e.step, loss: e.loss, learningRate: e.learningRate, gradNorm: e.gradNorm }],
        totalSteps: e.totalSteps,
        tokensPerSec: e.tokensPerSec,
      };
    case 'eval':
      return {
        ...run,
        log: log(`held-out loss of ${e.model} ${e.when} training: ${e.loss.toFixed(4)}${e.cached ? ' (from an earlier run on the same pair and data)' : ''}`),
        evals: [...run.evals.filter((x) => x.model !== e.model || x.when !== e.when), { model: e.model, when: e.when, loss: e.loss }],
      };
    case 'eval-step':
      return {
        ...run,
        log: log(e.metrics ? `held-out preference metrics of base+lora at step ${e.step}/${e.totalSteps}: ${prefMetricsText(e.metrics, e.loss)}` : `held-out loss of base+lora at step ${e.step}/${e.totalSteps}: ${e.loss.toFixed(4)}`),
        evalPoints: [...run.evalPoints.filter((p) => p.step < e.step), { step: e.step, loss: e.loss }],
      };
    case 'reference':
      // Stage dpo: the reference pass (adapter off) has its own progress; only its start goes into the log.
      return { ...run, message: e.cached ? 'reference log-probs taken from the checkpoint' : `reference log-probs (adapter off): batch ${e.batch}/${e.batches}`, log: e.batch === 0 || e.cached ? log(e.cached ? 'reference log-probs taken from the checkpoint' : `reference pass over ${e.batches} batches (model without the adapter)`) : run.log };
    case 'pref-eval': {
      const { status: _, ...view } = e;
      return { ...run, log: log(prefEvalLine(e)), prefEvals: [...(run.prefEvals ?? []).filter((x) => x.model !== e.model || x.when !== e.when), view] };
    }
    case 'resumed':
      return { ...run, evalPoints: e.evalPoints ? [...e.evalPoints] : run.evalPoints.filter((p) => p.step <= e.step), points: e.history.map((p) => ({ step: p.step, loss: p.loss, learningRate: p.lr, gradNorm: p.gradNorm })), totalSteps: e.totalSteps, log: log(`resuming at step ${e.step} of ${e.totalSteps}`) };
    case 'checkpoint':
      return e.error ? { ...run, log: log(`checkpoint after step ${e.step} not saved: ${e.error}`) } : run;
    case 'done':
      return { ...run, message: 'keeping the trained weights (adapter or tuned Base)', log: log(`training complete after ${e.steps} steps`) };
    case 'cancelled':
      return { ...run, message: `cancelled after ${e.steps} steps`, log: log(`cancelled after ${e.steps} steps`) };
    case 'error':
      return { ...run, error: e.message, log: log(`error: ${e.message}`) };
  }
}

/** The final loss as reported: EMA-smoothed (ui/ema.ts, w = 0.9) and the last raw step loss; null without steps. */
export function finalLoss(points: readonly { readonly loss: number }[]): { smoothed: number; last: number } | null {
  const last = points[points.length - 1];
  if (!last) return null;
  return { smoothed: emaSmooth(points.map((p) => p.loss)).at(-1) as number, last: last.loss };
}

/**
 * The device speed to estimate with: the FLOP/s measured by the newest run on the same device (deviceName), else
 * the assumed speed (a software fallback adapter is assumed much slower).
 */
export function speedsFrom(runs: readonly RunRecord[], device: string | null, fallback: boolean): Speeds {
  const base = fallback ? ASSUMED_FALLBACK_SPEEDS : ASSUMED_SPEEDS;
  const m = runs.find((r) => r.device === device && r.measuredFlopsPerSec !== null && Number.isFinite(r.measuredFlopsPerSec) && (r.measuredFlopsPerSec as number) > 0);
  return m ? { ...base, flopsPerSec: m.measuredFlopsPerSec as number, measured: true, source: 'run' } : base;
}

/** Creates the training slice. */
export const createTrainingSlice: Slice<TrainingSlice> = (set, get) => {
  let estimateSeq = 0;
  return {
    settings: null,
    settingsFor: null,
    defaults: null,
    run: IDLE_RUN,
    fullRunId: null,
    estimate: { data: null, error: null, speeds: ASSUMED_SPEEDS },
    setSettings: (settings) => set({ settings }),
    resetSettings: () => {
      const d = get().defaults;
      if (d) set({ settings: d });
    },
    refreshEstimate: async () => {
      const id = ++estimateSeq;
      const { settings, session, runs, gpu } = get();
      const dev = currentDevice(gpu);
      let speeds = speedsFrom(runs, dev.name, dev.fallback);
      // No run measured on this GPU yet: a short warm-up of this run gives the speed (speedWarmup.ts).
      if (settings && session?.pairReady && session.trainExamples > 0 && !speeds.measured && settings.finetuningType !== 'full') {
        const key = warmupKey(dev.name, session.pairId, settings);
        const sample = warmupSample(key);
        if (sample) speeds = withWarmup(speeds, sample);
        else if (gpu.status === 'ready' && !runActive()) startWarmup(key, settings, () => void get().refreshEstimate());
      }
      if (!settings || !session?.pairReady || session.trainExamples === 0) {
        set({ estimate: { data: null, error: null, speeds } });
        return;
      }
      try {
        const data = await engineClient.estimateRun(settings);
        if (id === estimateSeq) set({ estimate: { data, error: null, speeds } });
      } catch (e) {
        if (id === estimateSeq) set({ estimate: { data: null, error: errorMessage(e), speeds } });
      }
    },
    startTraining: async () => {
      const settings = get().settings;
      if (!settings || runActive()) return;
      const runId = newRunId();
      const startedAt = new Date().toISOString();
      await trackRun(set, get, {
        runId, startedAt, settings, opening: `run ${runId} started`,
        call: (onEvent, signal) => engineClient.train(settings, onEvent, signal, { ...get().checkpointOptions(runId), startedAt }),
      });
    },
    cancelTraining: () => {
      if (!runActive()) return;
      set({ run: { ...get().run, cancelling: true, log: [...get().run.log, { at: new Date().toISOString(), text: 'cancel requested' }] } });
      cancelActiveRun();
    },
  };
};
