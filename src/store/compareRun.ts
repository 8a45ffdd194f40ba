/**
 * One comparison as the store follows it, whether it starts (Compare) or continues a stored one (Resume, issue 20):
 * the live state fed by CompareEvents, the whole-job progress with its ETA (compareProgress.ts; a resumed comparison
 * is planned with its stored settings and options, and the stages it finished before count as done), and its record
 * in the run history (kind "compare", runHistory.ts): saved when it starts, every few seconds while it runs, and
 * with both adapters, the result table and the answers when it completes; a resumed comparison continues its own
 * record. The worker keeps what each stage finished (app/durableCompare.ts), so Resume is offered again after a
 * cancel, a failure or a reload.
 */
import { engineClient, type CompareEstimate, type CompareEvent, type CompareOptions, type CompareView, type ResumableCompare, type TrainSettings } from '../worker/client';
import { compareProgressOf, planCompare, startCompareTracker, trackCompare, type CompareTracker } from './compareProgress';
import { applyCompareEvent, IDLE_COMPARE, type CompareRunState } from './compareSlice';
import { newRunId, RUN_RECORD_VERSION, type RunRecord, type RunStatus } from './runHistory';
import { currentDevice } from './runTracking';
import { demoNames } from './resumeSlice';
import type { Speeds } from './runProgress';
import { startWarmup, warmupKey, warmupSample } from './speedWarmup';
import { errorMessage, isAbort, type StudioState } from './types';

/** Milliseconds between saves of a running comparison's record. */
const SAVE_EVERY_MS = 5000;

type Set = (p: Partial<StudioState>) => void;
type Get = () => StudioState;

let controller: AbortController | null = null;

/** True while a comparison (new or resumed) runs. */
export const compareActive = (): boolean => controller !== null;

/** Aborts the comparison under way, if any (what it finished stays stored for Resume). */
export function cancelActiveCompare(): void {
  controller?.abort();
}

/** What identifies a comparison's record. */
interface CompareIdentity {
  readonly id: string;
  readonly startedAt: string;
  readonly settings: TrainSettings;
  readonly options: CompareOptions;
  readonly baseModel: string;
  readonly instructModel: string;
  readonly pairId: string | null;
  readonly device: string | null;
}

/** The run-history record of comparison `who` in state `c` (steps: both trainings together). */
export function compareRecord(who: CompareIdentity, c: Pick<CompareRunState, 'curves' | 'totalSteps' | 'log'>, status: RunStatus, error: string | null, view: CompareView | null, stepsPerRun: number): RunRecord {
  const total = (c.totalSteps.shadow || stepsPerRun) + (c.totalSteps.conventional || stepsPerRun);
  const at = new Date().toISOString();
  return {
    version: RUN_RECORD_VERSION, kind: 'compare', id: who.id, startedAt: who.startedAt, endedAt: status === 'running' ? null : at, status,
    stepsDone: c.curves.shadow.length + c.curves.conventional.length, totalSteps: total, error, settings: who.settings,
    baseModel: who.baseModel, instructModel: who.instructModel, pairId: who.pairId, points: [], evals: [],
    log: c.log.map((text) => ({ at, text })), outcome: null, hasAdapter: false, measuredFlopsPerSec: null, device: who.device,
    compare: { options: who.options, curves: c.curves, view, hasAdapters: false },
  };
}

/**
 * The speeds of the Compare estimate: the training estimate's (an earlier run on this GPU, or the warm-up), with the
 * answers at the decode speed the warm-up measured (app/decodeWarmup.ts). When the training speed came from an
 * earlier run, no warm-up ran in this page: one is started (once per key, as the training estimate does) and
 * `onWarmup` is called when it ends. Until then the answers are estimated at the training speed.
 */
export function compareSpeeds(get: Get, onWarmup: () => void): Speeds {
  const base = get().estimate.speeds;
  if (base.decodeSecPerToken !== undefined) return base;
  const { settings, session, gpu } = get();
  if (!settings || !session?.pairReady || session.trainExamples === 0 || settings.finetuningType === 'full') return base;
  const key = warmupKey(currentDevice(gpu).name, session.pairId, settings);
  const sample = warmupSample(key);
  if (sample?.decode) return { ...base, decodeSecPerToken: sample.decode.secPerToken };
  if (!sample && gpu.status === 'ready' && !compareActive() && get().run.status !== 'running') startWarmup(key, settings, onWarmup);
  return base;
}

/**
 * Loads the pair an unfinished comparison needs when it is the bundled demo (other folders must be dropped again) and
 * ticks exactly its datasets. @returns null when ready, else what the user must do.
 */
export async function preparePairFor(get: Get, r: ResumableCompare): Promise<string | null> {
  const names = (): string => `${get().session?.base?.name ?? ''}|${get().session?.instruct?.name ?? ''}`;
  const want = `${r.baseModel}|${r.instructModel}`;
  if (names() !== want) {
    const demo = await demoNames();
    if (demo && `${demo.base}|${demo.instruct}` === want) await get().loadDemo();
    if (names() !== want) return `To resume the comparison, drop the folders ${r.baseModel} (Base) and ${r.instructModel} (Instruct) again, with the datasets ${r.datasets.join(', ')}.`;
  }
  for (const d of get().session?.datasets ?? []) {
    const on = r.datasets.includes(d.path);
    if (d.enabled !== on) await get().setDatasetEnabled(d.path, on);
  }
  return null;
}

/**
 * Runs a new comparison (`resume` absent: the current settings and options) or continues the stored one, as the
 * file comment says. No-op while one runs or without settings. Errors go to `compare.error`.
 */
export async function runTrackedCompare(set: Set, get: Get, resume?: ResumableCompare): Promise<void> {
  const settings = resume ? resume.settings : get().settings;
  const options = resume ? resume.options : get().compareOptions;
  if (!settings || controller) return;
  const ctl = new AbortController();
  controller = ctl;
  const s = get().session;
  const who: CompareIdentity = {
    id: resume?.id ?? newRunId(), startedAt: resume?.startedAt ?? new Date().toISOString(), settings, options,
    baseModel: resume?.baseModel ?? s?.base?.name ?? '', instructModel: resume?.instructModel ?? s?.instruct?.name ?? '', pairId: s?.pairId ?? null, device: currentDevice(get().gpu).name,
  };
  // A resumed comparison is planned with its own stored settings (the form may hold others); the bar shows from the start.
  let est: CompareEstimate | null = resume ? await engineClient.estimateCompare(settings, options).catch(() => null) : get().compareEstimate.data;
  const speeds = get().compareEstimate.speeds ?? get().estimate.speeds;
  let tracker: CompareTracker | null = est ? startCompareTracker(planCompare(est, speeds), est.prompts, performance.now()) : null;
  const stepsPerRun = est?.run.totalSteps ?? 0;
  set({ compare: { ...IDLE_COMPARE, status: 'running', message: resume ? 'resuming' : 'starting', runId: who.id, progress: tracker ? compareProgressOf(tracker, performance.now()) : null }, resumableCompare: null });
  const prior = get().runs.find((r) => r.id === who.id);
  const save = (status: RunStatus, error: string | null, view: CompareView | null, files?: Record<'shadow' | 'conventional', { config: string; safetensors: Blob }> | null): Promise<void> => {
    const c = get().compare;
    // A resumed comparison keeps the log of its earlier attempts.
    const r = compareRecord(who, c, status, error, view, stepsPerRun);
    return get().saveRun({ ...r, log: [...(prior?.log ?? []), ...r.log] }, files?.shadow, files?.conventional);
  };
  void save('running', null, null);
  let lastSave = performance.now();
  const onEvent = (e: CompareEvent): void => {
    const now = performance.now();
    if (tracker) tracker = trackCompare(tracker, e, now);
    set({ compare: { ...applyCompareEvent(get().compare, e), progress: tracker ? compareProgressOf(tracker, now) : null } });
    if (now - lastSave > SAVE_EVERY_MS) {
      lastSave = now;
      void save('running', null, null);
    }
  };
  // The ETA counts down between events too (a long answer or evaluation batch).
  const tick = setInterval(() => {
    if (tracker && get().compare.status === 'running') set({ compare: { ...get().compare, progress: compareProgressOf(tracker, performance.now()) } });
  }, 1000);
  try {
    const opts = { checkpointEvery: get().resume.checkpointEvery };
    const view = resume ? await engineClient.resumeCompare(onEvent, ctl.signal, opts) : await engineClient.compare(settings, options, onEvent, ctl.signal, { ...opts, id: who.id, startedAt: who.startedAt });
    const adapterFiles = await engineClient.compareAdapterFiles().catch(() => null);
    set({ compare: { ...get().compare, status: 'done', message: '', view, endedAt: new Date().toISOString(), restored: false, adapterFiles }, tryIt: { ...get().tryIt, adapterRunId: null } });
    await save('complete', null, view, adapterFiles);
    void get().refreshTryModels();
  } catch (e) {
    const abort = isAbort(e);
    set({ compare: { ...get().compare, status: abort ? 'cancelled' : 'error', message: abort ? 'Cancelled' : '', error: abort ? null : errorMessage(e) } });
    await save(abort ? 'cancelled' : 'failed', abort ? null : errorMessage(e), null);
    void get().refreshResumableCompare();
  } finally {
    clearInterval(tick);
    est = null;
    controller = null;
  }
}
