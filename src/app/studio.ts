/**
 * The studio's use cases behind one object: one session (dropped files, the loaded pair and datasets), one GPU
 * context (created on first use, recreated after a device loss), the adapter of the last run and the last checked
 * graft. The engine worker exposes it with comlink (src/worker/engine.worker.ts); its type is the worker protocol.
 * Long operations take an `opId` chosen by the caller; `cancel(opId)` aborts them.
 * Progress callbacks receive members of the one progress union, src/app/progress.ts.
 */
import type { ModelFiles } from '../io/checkpoint';
import { Operations, throttle } from './operations';
import { computeSimilarity, type SimilarityReport } from '../engine/analysis/similarity';
import { similarityCsv } from '../engine/analysis/similarityCsv';
import { buildAdapterFiles, readAdapterFiles } from '../engine/graft/adapterFiles';
import { createGpuContext, type AdapterSummary, type DeviceLimits, type GpuContext } from '../engine/gpu/context';
import type { TrainSettings } from '../engine/train/types';
import type { ExportProgress, GpuCheckProgress, SimilarityProgressEvent, TrainEvent } from './progress';
import { unorderedPairIdentity } from '../io/identity';
import type { DroppedFile } from '../io/folder';
import { exportAdapterZip, exportMergedZip, mergeLoadedAdapterZip, saveExportsToFolder, withBaseModel, type ExportedZip, type LoadedAdapterMerge, type TrainedAdapter } from './exports';
import { runGpuCheck, type GpuCheckResult } from './gpuCheck';
import { exportGraftZip, exportHandoffZip, prepareGraft, type GraftCheckResult, type GraftOptions, type HandoffOptions } from './handoffExports';
import type { GraftTunedPlan } from '../engine/graft/graftTuned';
import { Session, type SessionSummary } from './session';
import { previewFor, type DatasetPreview } from './datasetPreview';
import { estimateRun, type RunEstimate } from './runEstimate';
import { measureTrainingSpeed, type SpeedSample } from './speedWarmup';
import { estimateCompare, type CompareEstimate } from './compareEstimate';
import { defaultSettingsFor, memoryPlanFor, type AdapterFilesData, type MemoryPlanView, type TrainOutcome } from './training';
import { resumeDurably, trainDurably, type DurableOptions } from './durableTraining';
import { fullRunHolder } from './studioFull';
import { clearRunCheckpoint, resumableRun, type ResumableRun } from './checkpointStore';
import { compareAdaptersOf, compareView, tryInfoAfterCompare, type CompareView } from './compareSession';
import { compareDurably } from './durableCompare';
import { defaultCompareStore } from './compareStateStore';
import { studioCompareMethods } from './studioCompare';
import type { CompareOutcome } from './compare/runCompare';
import type { CompareEvent, CompareOptions, CompareRun } from './compare/types';
import { heldoutUserMessages, TryIt, tryModelInfo, trySources, type TryEvent, type TryModel, type TryModelInfo, type TryReply, type TryRequest, type TrySource } from './tryit';
import { modelStopTokenIds } from '../engine/generate/stopTokens';
import { instructTokenizer } from './datasetPreview';
import { safeFileName } from '../engine/graft/fileName';
import type { LoraAdapter } from '../engine/model/loraTypes';



/** The σ report with its CSV text (tensor,layer,module,shape,numel,sigma). */
export interface SimilarityResult {
  readonly report: SimilarityReport;
  readonly csv: string;
  /** io/identity.ts unorderedPairIdentity of the pair σ was computed for (σ is symmetric: a Swap keeps it). */
  readonly pairId: string;
}

/** The WebGPU adapter and device limits the engine runs on. */
export interface GpuInfo {
  readonly adapter: AdapterSummary;
  readonly limits: DeviceLimits;
}

/** The Studio object: what {@link createStudio} returns (the worker protocol's EngineApi). */
export type Studio = ReturnType<typeof createStudio>;

/**
 * Creates the studio's state and its API.
 * @param gpuApi returns the WebGPU entry point (navigator.gpu in a worker; the `webgpu` package's in Node); called
 *   when a GPU context is first needed and again after a device loss.
 */
export function createStudio(gpuApi: () => GPU | undefined) {
  const session = new Session();
  const ops = new Operations();
  const lostListeners = new Set<(message: string) => void>();
  let gpuPromise: Promise<GpuContext> | null = null;
  let trained: TrainedAdapter | null = null;
  /** W_B′ of the last run when it was a full-parameter one (studioFull.ts) */
  const fullRun = fullRunHolder(session, ops);
  /** The last checked "Graft a tuned Base" plan and the Instruct it was made for. */
  let graft: { plan: GraftTunedPlan; instructName: string; pair: string } | null = null;

  /** Identity of the loaded pair (io/identity.ts; to refuse exporting a graft checked against another pair). */
  function pairId(): string {
    return session.requirePair().id;
  }
  /** Set by enableTestHooks(): debugLoseDevice() works only then. */
  let testHooks = false;

  /** The adapters of the last comparison (null for a full-parameter one), the pair they were trained on, and when (a sequence number). */
  let compared: { adapters: Record<CompareRun, LoraAdapter> | null; pair: string; baseModel: string; instructModel: string; seq: number } | null = null;
  /** Sequence numbers of the last training run and the last comparison (the newer adapter is Try it's LoRA). */
  let seq = 0;
  let trainedSeq = 0;
  /** Try it's models and generators on the GPU (freed before training and comparisons). */
  const tryItGpu = new TryIt();

  /** The newest LoRA trained on the loaded pair's Base: the last run's or the last comparison's; null when none. */
  function shadowAdapter(): LoraAdapter | null {
    const { base, instruct } = session.requirePair();
    const fromCompare = compared && compared.pair === pairId() ? compared : null;
    const fromTrain = trained && trained.baseModel === base.model.files.name && trained.instructModel === instruct.model.files.name ? trained : null;
    if (fromCompare?.adapters && (!fromTrain || fromCompare.seq > trainedSeq)) return fromCompare.adapters.shadow;
    return fromTrain?.adapter ?? null;
  }

  /** Where each Try it model comes from now (the conventional LoRA only after a comparison on this pair). */
  function sources(): Map<TryModel, TrySource> {
    const conventional = compared && compared.pair === pairId() ? (compared.adapters?.conventional ?? null) : null;
    return trySources(session.requirePair(), { shadow: shadowAdapter(), conventional });
  }

  /** The GPU context, created once; forgotten when the device is lost so the next call makes a new one. */
  function gpu(): Promise<GpuContext> {
    if (!gpuPromise) {
      const p = createGpuContext(gpuApi());
      gpuPromise = p;
      p.then(
        (ctx) =>
          void ctx.lost.then((msg) => {
            if (gpuPromise === p) gpuPromise = null;
            tryItGpu.forget();
            for (const l of lostListeners) l(msg);
          }),
        () => {
          if (gpuPromise === p) gpuPromise = null;
        },
      );
    }
    return gpuPromise;
  }

  /** The loaded Instruct's files, or null when no pair is loaded. */
  function loadedInstruct(): ModelFiles | null {
    try {
      return session.requirePair().instruct.model.files;
    } catch {
      return null;
    }
  }

  /** The speed warm-up under way (speedWarmup.ts), stopped by any other GPU job before it starts. */
  let warmup: { ctl: AbortController; done: Promise<unknown> } | null = null;
  async function stopWarmup(): Promise<void> {
    const w = warmup;
    if (!w) return;
    w.ctl.abort(new DOMException('Stopped for another GPU job', 'AbortError'));
    await w.done.catch(() => {});
  }

  /**
   * Runs `f` as the only long GPU job (Operations.exclusive) once a speed warm-up, if any, has stopped. Without a
   * warm-up the job is taken at once, so isTraining() is true as soon as train() returns its promise.
   */
  async function gpuJob<T>(job: string, f: () => Promise<T>): Promise<T> {
    if (warmup) await stopWarmup();
    return ops.exclusive(job, f);
  }

  /** Keeps a finished comparison's adapters for the loaded pair (Try it, exports). */
  function remember(o: CompareOutcome): void {
    compared = { adapters: o.adapters ? { ...o.adapters } : null, pair: pairId(), baseModel: o.result.base_model, instructModel: o.result.instruct_model, seq: ++seq };
  }

  function requireTrained(): TrainedAdapter {
    if (!trained) throw new Error(fullRun.hasFull() ? 'The last run was full-parameter: it has no LoRA adapter; download the tuned Base or the merged Instruct instead.' : 'No trained adapter: train LoRA on the Base first.');
    return trained;
  }


  /** The studio's API. Every argument and result is structured-cloneable (Blobs, typed arrays, plain objects). */
  return {
  ...fullRun.api,
  /** Aborts the operation started with `opId` (no-op when it has finished). */
  cancel(opId: number): void {
    ops.cancel(opId);
  },

  /**
   * Creates the GPU device if needed and describes it; `onLost` is called with the reason if the device is lost.
   * @throws WebGpuUnavailableError saying what to enable.
   */
  async gpuInfo(onLost?: (message: string) => void): Promise<GpuInfo> {
    if (onLost) lostListeners.add(onLost);
    const ctx = await gpu();
    return { adapter: ctx.adapter, limits: ctx.limits };
  },

  /** Adds dropped files (path relative to the drop, top folder included) and recognises models and datasets. */
  /** Refused (rejected with an Error naming the action) while training runs, like every session change below. */
  addFiles(files: readonly DroppedFile[]): Promise<SessionSummary> {
    return ops.change('Adding files', () => session.add(files));
  },

  /** Forgets every dropped file. */
  clearFiles(): Promise<SessionSummary> {
    return ops.change('Clear', async () => session.clear());
  },

  /** Exchanges Base and Instruct. */
  swapRoles(): Promise<SessionSummary> {
    return ops.change('Swap', () => session.swap());
  },

  /** Ticks or unticks a dataset file for training. */
  setDatasetEnabled(path: string, enabled: boolean): Promise<SessionSummary> {
    return ops.change(`${enabled ? 'Ticking' : 'Unticking'} ${path}`, () => session.setDatasetEnabled(path, enabled));
  },

  /** Removes one dataset file from the drop. */
  removeDataset(path: string): Promise<SessionSummary> {
    return ops.change(`Removing ${path}`, () => session.removeDataset(path));
  },

  /** True while a training run holds the session's models and data. */
  isTraining(): boolean {
    return ops.training;
  },

  /** Steps, FLOPs, bytes and the schedule check of a run with `settings` (app/runEstimate.ts). @throws without a pair */
  estimateRun(settings: TrainSettings): Promise<RunEstimate> {
    return estimateRun(session, settings);
  },

  /** The plan of a comparison of `settings` with `options` (app/compareEstimate.ts). @throws without a pair */
  estimateCompare(settings: TrainSettings, options: CompareOptions): Promise<CompareEstimate> {
    return estimateCompare(session, settings, options);
  },

  /**
   * Times a three-step warm-up of a run of `settings` (speedWarmup.ts) for the estimate of a first run on this GPU.
   * Any other GPU job stops it (the call then rejects with an AbortError).
   * @throws as {@link measureTrainingSpeed}; Error naming the job that holds the GPU.
   */
  measureSpeed(opId: number, settings: TrainSettings): Promise<SpeedSample> {
    return ops.withOp(opId, async (signal) => {
      const ctl = new AbortController();
      const stop = (): void => ctl.abort(signal.reason);
      signal.addEventListener('abort', stop, { once: true });
      // `done` settles after the job has released the GPU, so a job waiting in stopWarmup finds it free.
      const done = ops.exclusive('the speed warm-up', async () => {
        tryItGpu.release();
        return measureTrainingSpeed(session, await gpu(), settings, ctl.signal);
      });
      const mine = { ctl, done };
      warmup = mine;
      try {
        return await done;
      } finally {
        if (warmup === mine) warmup = null;
        signal.removeEventListener('abort', stop);
      }
    });
  },

  /** The dataset preview for `settings` (rendered rows, labelled spans, kept/skipped, truncation). @throws without a pair */
  datasetPreview(settings: TrainSettings): Promise<DatasetPreview> {
    return previewFor(session, settings);
  },

  /** Training defaults for the loaded pair (engine defaultTrainSettings). @throws Error when no pair is loaded. */
  defaultSettings(): TrainSettings {
    return defaultSettingsFor(session);
  },

  /** The GPU memory plan of training the loaded Base with `settings` (needs WebGPU for the device limits). */
  async memoryPlan(settings: TrainSettings): Promise<MemoryPlanView> {
    return memoryPlanFor(session, await gpu(), settings);
  },

  /** σ per tensor of the loaded pair (CPU, f64 sums), with progress. @throws SimilarityError, or AbortError. */
  similarity(opId: number, onProgress: (p: SimilarityProgressEvent) => void): Promise<SimilarityResult> {
    return ops.withOp(opId, async (signal) => {
      const { base, instruct, baseId, instructId } = session.requirePair();
      const report = await computeSimilarity(base.checkpoint, instruct.checkpoint, {
        signal,
        tiedHead: base.lmHead === 'tied' || instruct.lmHead === 'tied',
        onProgress: throttle(100, (p) => onProgress({ status: 'similarity', ...p })),
      });
      return { report, csv: similarityCsv(report), pairId: unorderedPairIdentity(baseId, instructId) };
    });
  },

  /**
   * Trains LoRA on the Base; every TrainEvent goes to `onEvent`. The adapter is kept for the exports. Checkpoints go
   * to browser storage (every `opts.checkpointEvery` steps, default about a minute of work, and at cancel); a lost
   * device is recovered once from the last one (durableTraining.ts).
   */
  train(opId: number, settings: TrainSettings, onEvent: (e: TrainEvent) => void, opts?: DurableOptions): Promise<TrainOutcome> {
    return ops.withOp(opId, (signal) =>
      gpuJob('training', async () => {
        tryItGpu.release();
        const r = await trainDurably(session, gpu, settings, onEvent, signal, opts);
        trained = r.trained;
        fullRun.keep(r.full ?? null);
        trainedSeq = ++seq;
        return r.outcome;
      }),
    );
  },

  /** The unfinished (interrupted or cancelled) run stored in this browser, or null. */
  resumableRun(): Promise<ResumableRun | null> {
    return resumableRun();
  },

  /**
   * Continues the stored unfinished run on the loaded pair (its settings are the checkpoint's).
   * @throws Error naming the folders to drop again; CheckpointMismatchError naming what differs.
   */
  resumeTraining(opId: number, onEvent: (e: TrainEvent) => void, opts?: DurableOptions): Promise<TrainOutcome> {
    return ops.withOp(opId, (signal) =>
      gpuJob('training', async () => {
        tryItGpu.release();
        const r = await resumeDurably(session, gpu, onEvent, signal, opts);
        trained = r.trained;
        fullRun.keep(r.full ?? null);
        trainedSeq = ++seq;
        return r.outcome;
      }),
    );
  },

  /** Forgets the stored unfinished run and deletes its checkpoint. */
  discardResumableRun(): Promise<void> {
    return clearRunCheckpoint();
  },

  /** Allows {@link debugLoseDevice}; the client calls it only when the page URL has `?testHooks=1`. */
  enableTestHooks(): void {
    testHooks = true;
  },

  /**
   * Test hook: destroys the current GPU device (as a driver reset would), to exercise the recovery from device.lost.
   * @throws Error unless enableTestHooks() was called.
   */
  async debugLoseDevice(): Promise<void> {
    if (!testHooks) throw new Error('debugLoseDevice is a test hook: open the page with ?testHooks=1');
    if (gpuPromise) (await gpuPromise).device.destroy();
  },

  /**
   * "Check this GPU": runs the bundled golden fixtures (`root`/manifest.json) on this worker's device, streaming
   * every row (gpuCheck.ts). Never runs while training does. @throws GpuCheckError, the busy Error, or AbortError.
   * @param root absolute URL of the fixtures folder, ending with "/".
   */
  checkGpu(opId: number, root: string, onProgress: (p: GpuCheckProgress) => void): Promise<GpuCheckResult> {
    return ops.withOp(opId, (signal) => gpuJob('the GPU check', async () => runGpuCheck(await gpu(), root, onProgress, signal)));
  },

  /**
   * Makes a stored adapter (from IndexedDB, after a reload) the current one; `run` (its settings and steps done) goes
   * into the exported model card. @throws AdapterError for bad files.
   */
  async restoreAdapter(files: AdapterFilesData, baseModel: string, instructModel: string, run?: { settings: TrainSettings; steps: number }): Promise<void> {
    const name = `${instructModel}-shadowft-lora`;
    const adapter = await readAdapterFiles({ name, files: new Map([['adapter_config.json', new Blob([files.config])], ['adapter_model.safetensors', files.safetensors]]) });
    trained = { adapter, baseModel, instructModel, ...(run ? { settings: run.settings, steps: run.steps } : {}) };
    trainedSeq = ++seq;
  },

  /**
   * Compare: LoRA on Base (Shadow-FT) and on Instruct (conventional) with `settings`, then five models measured on the
   * held-out split (app/compare). Keeps both adapters for Try it and {@link exportCompareAdapter}. Durable
   * (app/durableCompare.ts): checkpoints of the training under way and every finished stage are stored for Resume
   * (`opts`: the run-history id and start time, steps between checkpoints); a lost device is recovered once.
   * @throws CompareError for a bad check regex or counts (before any training), the busy Error, or AbortError.
   */
  compare(opId: number, settings: TrainSettings, options: CompareOptions, onEvent: (e: CompareEvent) => void, opts?: { readonly id?: string; readonly startedAt?: string; readonly checkpointEvery?: number }): Promise<CompareView> {
    return ops.withOp(opId, (signal) =>
      gpuJob('the comparison', async () => {
        tryItGpu.release();
        const o = await compareDurably(session, gpu, settings, options, onEvent, signal, { store: defaultCompareStore(), ...opts });
        remember(o);
        return compareView(o);
      }),
    );
  },
  ...studioCompareMethods({ session, ops, gpu, gpuJob, releaseTryIt: () => tryItGpu.release(), remember }),

  /** One adapter of the last comparison as a PEFT zip (base_model_name_or_path = the Instruct model). */
  /**
   * Both adapters of the last comparison as PEFT files (to keep in browser storage).
   * @throws Error when no comparison ran in this worker.
   */
  compareAdapterFiles(): Record<CompareRun, AdapterFilesData> {
    if (!compared) throw new Error('Run Compare first.');
    const c = compared;
    const files = (run: CompareRun): AdapterFilesData => {
      const f = buildAdapterFiles(compareAdaptersOf(c)[run], { baseModelNameOrPath: c.instructModel });
      return { config: f['adapter_config.json'], safetensors: f['adapter_model.safetensors'] };
    };
    return { shadow: files('shadow'), conventional: files('conventional') };
  },

  /**
   * Makes stored adapters of a comparison (after a reload) the comparison's adapters for the loaded pair, for its
   * exports and Try it. @throws AdapterError for bad files.
   */
  async restoreCompareAdapters(files: Record<CompareRun, AdapterFilesData>, baseModel: string, instructModel: string): Promise<void> {
    const read = (run: CompareRun) => readAdapterFiles({ name: `${instructModel}-${run}-lora`, files: new Map([['adapter_config.json', new Blob([files[run].config])], ['adapter_model.safetensors', files[run].safetensors]]) });
    compared = { adapters: { shadow: await read('shadow'), conventional: await read('conventional') }, pair: pairId(), baseModel, instructModel, seq: ++seq };
  },

  async exportCompareAdapter(run: CompareRun): Promise<ExportedZip> {
    if (!compared) return Promise.reject(new Error('Run Compare first.'));
    const { baseModel, instructModel } = compared;
    const folder = safeFileName(`${instructModel}-${run === 'shadow' ? 'shadowft' : 'conventional'}-lora`);
    return exportAdapterZip({ adapter: compareAdaptersOf(compared)[run], baseModel, instructModel }, folder);
  },

  /** The Try it models of the loaded pair and whether each can answer now. @throws Error when no pair is loaded. */
  tryItModels(): TryModelInfo[] {
    return tryInfoAfterCompare(tryModelInfo(sources()), compared && compared.pair === pairId() ? compared : null);
  },

  /** The last user message of the first `n` held-out conversations ("use held-out prompts"). */
  heldoutMessages(n: number): string[] {
    return heldoutUserMessages(session.conversations('heldout'), n);
  },

  /**
   * Try it: answers `request.message` with each requested model (same settings), streaming tokens to `onEvent`.
   * @throws Error naming a model that is not available, GenerateError for bad settings, the busy Error, or AbortError.
   */
  tryIt(opId: number, request: TryRequest, onEvent: (e: TryEvent) => void): Promise<Record<string, TryReply>> {
    return ops.withOp(opId, (signal) =>
      gpuJob('Try it', async () => {
        const ctx = await gpu();
        const { instruct } = session.requirePair();
        const tok = await instructTokenizer(session);
        const stop = await modelStopTokenIds(instruct.model.files, instruct.config, tok);
        const r = await tryItGpu.generate(ctx, tok, request, sources(), stop.ids, onEvent, signal);
        return Object.fromEntries(r);
      }),
    );
  },

  /**
   * The PEFT adapter zip of the current adapter.
   * @param baseModelNameOrPath written as base_model_name_or_path (the Instruct's Hub id or path on the user's
   *   machine); blank or absent: the Hub id in the Instruct's config.json, else its folder name.
   */
  async exportAdapter(baseModelNameOrPath?: string): Promise<ExportedZip> {
    return exportAdapterZip(await withBaseModel(requireTrained(), loadedInstruct(), baseModelNameOrPath));
  },

  /** The merged Instruct model zip (needs the Instruct model loaded). */
  exportMerged(opId: number, onProgress: (p: ExportProgress) => void): Promise<ExportedZip> {
    return ops.withOp(opId, (signal) => exportMergedZip(requireTrained(), session.requirePair().instruct.model.files, throttle(100, onProgress), signal));
  },

  /**
   * Merges an adapter trained elsewhere onto the loaded Instruct model ("Load adapter"): `files` are the picked
   * adapter_config.json + adapter_model.safetensors (by file name; other files ignored), `name` the adapter's name.
   */
  mergeAdapterFiles(opId: number, name: string, files: readonly { name: string; file: Blob }[], onProgress: (p: ExportProgress) => void): Promise<LoadedAdapterMerge> {
    return ops.withOp(opId, (signal) => {
      const { instruct } = session.requirePair();
      const map = new Map(files.map((f) => [f.name.slice(f.name.lastIndexOf('/') + 1), f.file] as const));
      return mergeLoadedAdapterZip({ name, files: map }, instruct.model.files, instruct.checkpoint, throttle(100, onProgress), signal);
    });
  },

  /**
   * Streams the adapter (and the merged model when the Instruct is loaded) into a chosen directory.
   * @param baseModelNameOrPath as for exportAdapter.
   */
  saveToFolder(opId: number, dir: FileSystemDirectoryHandle, onProgress: (p: ExportProgress) => void, baseModelNameOrPath?: string): Promise<string[]> {
    return ops.withOp(opId, async (signal) => {
      const instruct = loadedInstruct();
      const t = await withBaseModel(requireTrained(), instruct, baseModelNameOrPath);
      return saveExportsToFolder(t, instruct, dir, throttle(100, onProgress), signal);
    });
  },

  /** "Export for a cluster": LLaMA-Factory + mergekit files of the loaded pair and data with `settings` (zip). */
  exportHandoff(settings: TrainSettings, opts: HandoffOptions): Promise<ExportedZip> {
    return exportHandoffZip(session, settings, opts);
  },

  /** Checks a dropped tuned Base (full or LoRA) against the loaded pair; keeps the plan for {@link api.exportGraft}. */
  prepareGraft(opId: number, files: readonly DroppedFile[], opts: GraftOptions, pairReport: SimilarityReport | null): Promise<GraftCheckResult> {
    graft = null;
    return ops.withOp(opId, async (signal) => {
      const r = await prepareGraft(session, files, opts, pairReport, signal);
      graft = { plan: r.plan, instructName: session.requirePair().instruct.model.files.name, pair: pairId() };
      return r.result;
    });
  },

  /** The grafted Instruct model of the last checked plan, as a zip. */
  exportGraft(opId: number, onProgress: (p: ExportProgress) => void): Promise<ExportedZip> {
    const g = graft;
    if (!g) return Promise.reject(new Error('Check a tuned Base first.'));
    if (g.pair !== pairId()) return Promise.reject(new Error('The Base/Instruct pair changed since the tuned Base was checked: check it again.'));
    return ops.withOp(opId, (signal) => exportGraftZip(g.plan, g.instructName, throttle(100, onProgress), signal));
  },
  };
}
