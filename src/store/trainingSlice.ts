/**
 * Training slice: the settings form values (persisted), the estimate of the next run (steps, time), and the live
 * run fed by TrainEvents from the worker. Every run gets an id when it starts and its own record in the run history
 * (runHistorySlice.ts): saved when it starts, every few seconds while it runs, and with its adapter when it ends, so
 * a cancelled run never replaces another one.
 */
import { emaSmooth } from './ema';
import { engineClient, type TrainEvent, type TrainOutcome } from '../worker/client';
import { deviceName, newRunId, RUN_RECORD_VERSION, type LogLine, type RunRecord, type RunStatus } from './runHistory';
import { ASSUMED_FALLBACK_SPEEDS, ASSUMED_SPEEDS, planPhases, progressOf, startTracker, track, type Speeds, type Tracker } from './runProgress';
import { errorMessage, isAbort, pairKey, type Slice, type TrainingRun, type TrainingSlice } from './types';

/** A run that has not started. */
export const IDLE_RUN: TrainingRun = { status: 'idle', runId: null, cancelling: false, message: '', points: [], totalSteps: 0, tokensPerSec: 0, evals: [], error: null, log: [], progress: null };

/** Milliseconds between saves of a running run's record. */
const SAVE_EVERY_MS = 5000;

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
    case 'done':
      return { ...run, message: 'saving the adapter', log: log(`training complete after ${e.steps} steps`) };
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
  return m ? { ...base, flopsPerSec: m.measuredFlopsPerSec as number, measured: true } : base;
}

/** The device name and fallback flag of the worker's GPU, from the store (null / false before it is known). */
function currentDevice(gpu: { readonly info: { readonly adapter: Parameters<typeof deviceName>[0] } | null }): { name: string | null; fallback: boolean } {
  const a = gpu.info?.adapter;
  return a ? { name: deviceName(a), fallback: a.isFallbackAdapter } : { name: null, fallback: false };
}

/** Creates the training slice. */
export const createTrainingSlice: Slice<TrainingSlice> = (set, get) => {
  let controller: AbortController | null = null;
  let estimateSeq = 0;
  return {
    settings: null,
    settingsFor: null,
    defaults: null,
    run: IDLE_RUN,
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
      const speeds = speedsFrom(runs, dev.name, dev.fallback);
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
      const { settings, session } = get();
      if (!settings || controller || !session?.pairReady) return;
      const c = new AbortController();
      controller = c;
      const runId = newRunId();
      const startedAt = new Date().toISOString();
      const { data: est, speeds } = get().estimate;
      let tracker: Tracker | null = est ? startTracker(planPhases(est, speeds), performance.now()) : null;
      const totalSteps = est?.totalSteps ?? 0;
      set({ run: { ...IDLE_RUN, runId, status: 'running', message: 'starting', totalSteps, log: [{ at: startedAt, text: `run ${runId} started` }], progress: tracker ? progressOf(tracker, performance.now(), speeds.flopsPerSec) : null } });
      const key = pairKey(session)?.split('|') ?? ['', ''];
      const record = (status: RunStatus, extra: Partial<RunRecord> = {}): RunRecord => {
        const r = get().run;
        return {
          version: RUN_RECORD_VERSION, id: runId, startedAt, endedAt: status === 'running' ? null : new Date().toISOString(), status,
          stepsDone: r.points.at(-1)?.step ?? 0, totalSteps: r.totalSteps, error: null, settings, baseModel: key[0] ?? '', instructModel: key[1] ?? '',
          pairId: session.pairId, points: r.points, evals: r.evals, log: r.log, outcome: null, hasAdapter: false,
          measuredFlopsPerSec: r.progress?.measuredFlopsPerSec ?? null, device: currentDevice(get().gpu).name, ...extra,
        };
      };
      void get().saveRun(record('running'));
      let lastSave = performance.now();
      const onEvent = (e: TrainEvent): void => {
        const now = performance.now();
        if (tracker) tracker = track(tracker, e, now);
        const run = applyTrainEvent(get().run, e, new Date().toISOString());
        set({ run: { ...run, progress: tracker ? progressOf(tracker, now, speeds.flopsPerSec) : null } });
        if (now - lastSave > SAVE_EVERY_MS) {
          lastSave = now;
          void get().saveRun(record('running'));
        }
      };
      try {
        const outcome: TrainOutcome = await engineClient.train(settings, onEvent, c.signal);
        const status = outcome.status === 'cancelled' ? 'cancelled' : 'complete';
        const { adapterFiles, settings: _s, ...counts } = outcome;
        set({ run: { ...get().run, status: status === 'complete' ? 'done' : 'cancelled', cancelling: false, message: '' } });
        get().adapterIsFrom(runId);
        await get().saveRun(record(status, { stepsDone: outcome.steps, outcome: counts }), adapterFiles);
        // A cancelled run never replaces the exported run; it is exported only when there is no other.
        if (status === 'complete' || get().exportRunId === null) get().selectExportRun(runId);
      } catch (e) {
        const cancelled = isAbort(e);
        const error = cancelled ? null : errorMessage(e);
        set({ run: { ...get().run, status: cancelled ? 'cancelled' : 'error', cancelling: false, message: '', error } });
        await get().saveRun(record(cancelled ? 'cancelled' : 'failed', { error }));
      } finally {
        controller = null;
      }
      void get().refreshEstimate();
    },
    cancelTraining: () => {
      if (!controller) return;
      set({ run: { ...get().run, cancelling: true, log: [...get().run.log, { at: new Date().toISOString(), text: 'cancel requested' }] } });
      controller.abort();
    },
  };
};
