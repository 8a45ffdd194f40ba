/**
 * One run as the store follows it, whether it starts fresh (Start training) or resumes a stored checkpoint (Resume):
 * the live run fed by TrainEvents, the whole-run progress tracker, and the run's record in the run history
 * (runHistorySlice.ts), saved when it starts, every few seconds while it runs and with its adapter when it ends, so
 * a cancelled run never replaces another one and a resumed run continues its own record.
 * One run at a time: {@link cancelActiveRun} aborts whichever is running.
 */
import type { RunEstimate, TrainEvent, TrainOutcome, TrainSettings } from '../worker/client';
import { deviceName, RUN_RECORD_VERSION, type RunRecord, type RunStatus } from './runHistory';
import { planPhases, progressOf, startTracker, track, type Tracker } from './runProgress';
import { applyTrainEvent, IDLE_RUN } from './trainingSlice';
import { errorMessage, isAbort, pairKey, type StudioState } from './types';

/** Milliseconds between saves of a running run's record. */
const SAVE_EVERY_MS = 5000;

let controller: AbortController | null = null;

/** True while a run (fresh or resumed) is active. */
export const runActive = (): boolean => controller !== null;

/** Aborts the active run, if any. @returns whether one was running. */
export function cancelActiveRun(): boolean {
  if (!controller) return false;
  controller.abort();
  return true;
}

/** The device name and fallback flag of the worker's GPU, from the store (null / false before it is known). */
export function currentDevice(gpu: StudioState['gpu']): { name: string | null; fallback: boolean } {
  const a = gpu.info?.adapter;
  return a ? { name: deviceName(a), fallback: a.isFallbackAdapter } : { name: null, fallback: false };
}

/** What {@link trackRun} needs to know about the run. */
export interface RunToTrack {
  readonly runId: string;
  /** ISO time the run first started (kept across a resume) */
  readonly startedAt: string;
  readonly settings: TrainSettings;
  /** first log line */
  readonly opening: string;
  /**
   * The estimate of this run (app/runEstimate.ts) when it is not the one of the form's current settings — a resumed
   * run estimates its own stored settings; absent: the store's estimate.
   */
  readonly estimate?: RunEstimate | null;
  /** starts the run in the worker; resolves with its outcome */
  call(onEvent: (e: TrainEvent) => void, signal: AbortSignal): Promise<TrainOutcome>;
}

/**
 * Runs `r` and keeps the store and its history record up to date until it ends (complete, cancelled or failed; the
 * error goes into the record and the run, never thrown). Does nothing when another run is active.
 */
export async function trackRun(set: (p: Partial<StudioState>) => void, get: () => StudioState, r: RunToTrack): Promise<void> {
  const session = get().session;
  if (controller || !session?.pairReady) return;
  const c = new AbortController();
  controller = c;
  const { runId, startedAt, settings } = r;
  const { data: formEst, speeds } = get().estimate;
  const est = r.estimate !== undefined ? r.estimate : formEst;
  let tracker: Tracker | null = est ? startTracker(planPhases(est, speeds), performance.now()) : null;
  // A resumed run continues its own record: its curve, held-out losses, step count and log so far.
  const prior = get().runs.find((x) => x.id === runId);
  const totalSteps = est?.totalSteps ?? prior?.totalSteps ?? 0;
  const opening = { at: new Date().toISOString(), text: r.opening };
  set({
    run: {
      ...IDLE_RUN, runId, status: 'running', message: 'starting', totalSteps,
      points: prior?.points ?? [], evals: prior?.evals ?? [], evalPoints: prior?.evalPoints ?? [], ...(prior?.prefEvals ? { prefEvals: prior.prefEvals } : {}), log: [...(prior?.log ?? []), opening],
      progress: tracker ? progressOf(tracker, performance.now(), speeds.flopsPerSec) : null,
    },
  });
  const key = pairKey(session)?.split('|') ?? ['', ''];
  const record = (status: RunStatus, extra: Partial<RunRecord> = {}): RunRecord => {
    const run = get().run;
    return {
      version: RUN_RECORD_VERSION, id: runId, startedAt, endedAt: status === 'running' ? null : new Date().toISOString(), status,
      stepsDone: run.points.at(-1)?.step ?? 0, totalSteps: run.totalSteps, error: null, settings, baseModel: key[0] ?? '', instructModel: key[1] ?? '',
      pairId: session.pairId, points: run.points, evals: run.evals, evalPoints: run.evalPoints, ...(run.prefEvals ? { prefEvals: run.prefEvals } : {}), log: run.log, outcome: null, hasAdapter: false,
      measuredFlopsPerSec: run.progress?.measuredFlopsPerSec ?? null, device: currentDevice(get().gpu).name, ...extra,
    };
  };
  void get().saveRun(record('running'));
  let lastSave = performance.now();
  // The final record once saved. Events travel on the callback's own MessagePort, the result on the worker's, so the
  // last events (the Instruct + graft evaluation, 'done') can arrive after the result: they re-save the final record.
  // (saveRun writes in order, so a re-save lands after the adapter; it keeps hasAdapter.)
  let saved: { status: RunStatus; extra: Partial<RunRecord> } | null = null;
  const onEvent = (e: TrainEvent): void => {
    const now = performance.now();
    if (tracker) tracker = track(tracker, e, now);
    const run = applyTrainEvent(get().run, e, new Date().toISOString());
    set({ run: { ...run, progress: saved ? get().run.progress : tracker ? progressOf(tracker, now, speeds.flopsPerSec) : null } });
    if (saved) {
      void get().saveRun(record(saved.status, saved.extra));
      return;
    }
    if (now - lastSave > SAVE_EVERY_MS) {
      lastSave = now;
      void get().saveRun(record('running'));
    }
  };
  try {
    const outcome = await r.call(onEvent, c.signal);
    const status = outcome.status === 'cancelled' ? 'cancelled' : 'complete';
    const { adapterFiles, settings: _s, ...counts } = outcome;
    set({ run: { ...get().run, status: status === 'complete' ? 'done' : 'cancelled', cancelling: false, message: '' } });
    // A full-parameter run keeps W_B′ in the worker (no adapter): its exports are the tuned Base and merged Instruct.
    if (adapterFiles) {
      get().adapterIsFrom(runId);
      set({ tryIt: { ...get().tryIt, adapterRunId: runId }, fullRunId: null });
    } else set({ fullRunId: runId });
    saved = { status, extra: { stepsDone: outcome.steps, outcome: counts } };
    const done = get().saveRun(record(status, saved.extra), adapterFiles);
    if (adapterFiles) saved = { status, extra: { ...saved.extra, hasAdapter: true } };
    await done;
    // A cancelled run never replaces the exported run; it is exported only when there is no other.
    // (A full-parameter run has no adapter: the export panel's LoRA part keeps the run it had.)
    if (adapterFiles && (status === 'complete' || get().exportRunId === null)) get().selectExportRun(runId);
  } catch (e) {
    const cancelled = isAbort(e);
    const error = cancelled ? null : errorMessage(e);
    set({ run: { ...get().run, status: cancelled ? 'cancelled' : 'error', cancelling: false, message: '', error } });
    saved = { status: cancelled ? 'cancelled' : 'failed', extra: { error } };
    await get().saveRun(record(saved.status, saved.extra));
  } finally {
    controller = null;
    await get().afterRun();
  }
  void get().refreshEstimate();
}
