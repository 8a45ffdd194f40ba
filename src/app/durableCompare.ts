/**
 * A comparison that survives reloads and device loss (issue 20, "Compare is a run like training"): its stages are
 * the two trainings (LoRA SFT or DPO on Base, the same on Instruct) and the five models' measures (compare/runCompare.ts). The
 * training stage under way saves checkpoints as a durable training run does (runTraining's checkpointEvery /
 * onCheckpoint / resume, through compare/hooks.ts); each finished run's adapter is stored as PEFT files (F32, exact)
 * as soon as its stage ends, and each model's held-out loss and answers as soon as they are measured
 * (compareStateStore.ts). Resume skips the finished stages (adapters restored from their files), continues the
 * training under way from its checkpoint and measures only the models not measured yet, so its result equals an
 * uninterrupted comparison's: training resumes bit-exactly (engine/train/checkpoint.ts), and the measures are
 * deterministic functions of the adapters. A lost GPU device is recovered once, on a new device, the same way
 * (durableTraining.ts).
 */
import type { GpuContext } from '../engine/gpu/context';
import { buildAdapterFiles, readAdapterFiles } from '../engine/graft/adapterFiles';
import type { TrainCheckpoint } from '../engine/train/checkpoint';
import type { TrainSettings } from '../engine/train/types';
import { checkpointStorageAvailable, requireCheckpointSpace } from './checkpointStore';
import type { CompareHooks, TrainedRun } from './compare/hooks';
import type { CompareOutcome } from './compare/runCompare';
import type { CompareEvent, CompareModel, CompareOptions, CompareRun } from './compare/types';
import { compareOnSession } from './compareSession';
import type { CompareState, CompareStateStore, StoredCompareRun } from './compareStateStore';
import { checkpointBytes } from './durableTraining';
import type { Session } from './session';

/** Options of a durable comparison. */
export interface DurableCompareOptions {
  readonly store: CompareStateStore;
  /** optimizer steps between checkpoints of each training run; absent or 0 = about one minute of work */
  readonly checkpointEvery?: number;
  /** the run-history record (id, ISO start time) the comparison belongs to; made up when absent */
  readonly id?: string;
  readonly startedAt?: string;
}

/** What the studio shows about an unfinished comparison (structured-cloneable). */
export interface ResumableCompare {
  readonly id: string;
  readonly startedAt: string;
  readonly settings: TrainSettings;
  readonly options: CompareOptions;
  readonly baseModel: string;
  readonly instructModel: string;
  readonly datasets: readonly string[];
  /** finished training runs with their steps */
  readonly trained: readonly { readonly run: CompareRun; readonly steps: number }[];
  readonly measured: readonly CompareModel[];
  readonly checkpoint: CompareState['checkpoint'];
}

/** The summary of a stored state. */
export function resumableCompareOf(s: CompareState): ResumableCompare {
  const runs = (['shadow', 'conventional'] as const).flatMap((run) => (s.runs[run] ? [{ run, steps: s.runs[run].steps }] : []));
  return { id: s.id, startedAt: s.startedAt, settings: s.settings, options: s.options, baseModel: s.baseModel, instructModel: s.instructModel, datasets: s.datasets, trained: runs, measured: Object.keys(s.measured) as CompareModel[], checkpoint: s.checkpoint };
}

/** The PEFT files of a finished run's adapter (base_model_name_or_path = the Instruct, as the CLI writes). */
function storedRun(t: TrainedRun, instructModel: string): StoredCompareRun {
  const f = buildAdapterFiles(t.adapter, { baseModelNameOrPath: instructModel });
  return { files: { config: f['adapter_config.json'], safetensors: f['adapter_model.safetensors'] }, steps: t.steps, losses: [...t.losses] };
}

/** Waits up to `ms` for the device to be reported lost. */
async function wasLost(ctx: GpuContext, ms = 2000): Promise<string | null> {
  return Promise.race([ctx.lost, new Promise<null>((r) => setTimeout(() => r(null), ms))]);
}

const ticked = (session: Session): string[] => session.current().datasets.filter((d) => d.enabled && d.error === null).map((d) => d.path);

/**
 * Runs (or continues) the comparison of `state` on the session's pair, storing every finished stage in `store`.
 * The stored state is cleared when the comparison completes; it is kept on cancel and failure (for Resume).
 */
async function runDurably(session: Session, gpu: () => Promise<GpuContext>, first: CompareState, onEvent: (e: CompareEvent) => void, signal: AbortSignal, store: CompareStateStore, checkpointEvery: number | undefined, resume: TrainCheckpoint | null): Promise<CompareOutcome> {
  let state = first;
  let last = resume;
  let recovered = false;
  for (;;) {
    const ctx = await gpu();
    try {
      const trained: Partial<Record<CompareRun, TrainedRun>> = {};
      for (const run of ['shadow', 'conventional'] as const) {
        const r = state.runs[run];
        if (!r) continue;
        const files = new Map([['adapter_config.json', new Blob([r.files.config])], ['adapter_model.safetensors', r.files.safetensors]]);
        trained[run] = { adapter: await readAdapterFiles({ name: `${state.instructModel}-${run}-lora`, files }), steps: r.steps, losses: r.losses };
      }
      const measured = Object.keys(state.measured) as CompareModel[];
      const ck = last && state.checkpoint ? { run: state.checkpoint.run, step: last.step, totalSteps: last.totalSteps } : null;
      if (Object.keys(trained).length || measured.length || ck) {
        onEvent({ status: 'compare-resumed', trained: (['shadow', 'conventional'] as const).flatMap((run) => (state.runs[run] ? [{ run, steps: state.runs[run].steps, losses: state.runs[run].losses }] : [])), measured, checkpoint: ck });
      }
      const hooks: CompareHooks = {
        done: trained,
        ...(last && ck ? { resume: { [ck.run]: last } } : {}),
        ...(checkpointEvery ? { checkpointEvery } : {}),
        measured: state.measured,
        onCheckpoint: async (run, c) => {
          const next = { ...state, checkpoint: { run, step: c.step, totalSteps: c.totalSteps } };
          await store.saveCheckpoint(c, next);
          state = next;
          last = c;
        },
        onRunDone: async (run, t) => {
          state = { ...state, runs: { ...state.runs, [run]: storedRun(t, state.instructModel) }, checkpoint: null };
          last = null;
          await store.save(state);
        },
        onMeasured: async (model, m) => {
          state = { ...state, measured: { ...state.measured, [model]: m } };
          await store.save(state);
        },
      };
      const o = await compareOnSession(session, ctx, state.settings, state.options, onEvent, signal, { hooks });
      await store.clear();
      return o;
    } catch (e) {
      const lost = signal.aborted || recovered ? null : await wasLost(ctx);
      if (lost === null) throw e;
      recovered = true;
      onEvent({ status: 'compare-message', message: `${lost}; recovering once on a new GPU device from ${last ? `the checkpoint after step ${last.step}` : 'the last finished stage'}` });
    }
  }
}

/** A new comparison id: "compare-" + start time (ms, base 36) + 6 random base-36 characters. */
const newCompareId = (now: number): string => `compare-${now.toString(36)}-${Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0')}`;

/**
 * Starts a durable comparison of `settings` and `options` on the session's pair and ticked datasets (it replaces an
 * unfinished one in `store`). A LoRA comparison (SFT or DPO) is durable; a full-parameter one runs without
 * checkpoints or stored stages (and says so).
 * @throws CheckpointStorageError before any work when two checkpoints do not fit the browser's quota; everything
 *   compareOnSession throws (a second device loss included); CheckpointSaveError when a checkpoint cannot be saved;
 *   the signal's reason when cancelled (the finished stages and the last checkpoint stay stored).
 */
export async function compareDurably(session: Session, gpu: () => Promise<GpuContext>, settings: TrainSettings, options: CompareOptions, onEvent: (e: CompareEvent) => void, signal: AbortSignal, opts: DurableCompareOptions): Promise<CompareOutcome> {
  const pair = session.requirePair();
  if (settings.finetuningType === 'full') {
    // Two full-parameter states (12 bytes per parameter each) and three tuned checkpoints are not kept in browser storage.
    await opts.store.clear();
    onEvent({ status: 'compare-message', message: 'a full-parameter comparison is not checkpointed: after a reload or a lost device it starts again' });
    return compareOnSession(session, await gpu(), settings, options, onEvent, signal);
  }
  if (opts.store.durable && checkpointStorageAvailable()) await requireCheckpointSpace(checkpointBytes(session, settings));
  const now = Date.now();
  const state: CompareState = {
    id: opts.id ?? newCompareId(now), startedAt: opts.startedAt ?? new Date(now).toISOString(), settings, options,
    baseModel: pair.base.model.files.name, instructModel: pair.instruct.model.files.name, datasets: ticked(session), runs: {}, measured: {}, checkpoint: null,
  };
  await opts.store.clear();
  await opts.store.save(state);
  return runDurably(session, gpu, state, onEvent, signal, opts.store, opts.checkpointEvery, null);
}

/**
 * Continues the comparison stored in `opts.store` on the loaded pair (its settings and options are the stored ones).
 * @throws Error when none is stored, or naming the folders to drop and the datasets to tick when the loaded pair or
 *   the ticked datasets differ; CheckpointMismatchError when the training checkpoint is of another model or data;
 *   as {@link compareDurably}.
 */
export async function resumeCompareDurably(session: Session, gpu: () => Promise<GpuContext>, onEvent: (e: CompareEvent) => void, signal: AbortSignal, opts: Omit<DurableCompareOptions, 'id' | 'startedAt'>): Promise<CompareOutcome> {
  const state = await opts.store.load();
  if (!state) throw new Error('There is no unfinished comparison to resume.');
  let pair;
  try {
    pair = session.requirePair();
  } catch {
    pair = null;
  }
  if (!pair || pair.base.model.files.name !== state.baseModel || pair.instruct.model.files.name !== state.instructModel) {
    throw new Error(`To resume the comparison, drop the folders ${state.baseModel} (Base) and ${state.instructModel} (Instruct) again, with the same datasets.`);
  }
  const now = ticked(session);
  if (now.length !== state.datasets.length || now.some((d, i) => d !== state.datasets[i])) {
    throw new Error(`To resume the comparison, tick the datasets it used: ${state.datasets.join(', ')} (ticked now: ${now.join(', ') || 'none'}).`);
  }
  const resume = state.checkpoint ? await opts.store.loadCheckpoint() : null;
  return runDurably(session, gpu, state, onEvent, signal, opts.store, opts.checkpointEvery, resume);
}
