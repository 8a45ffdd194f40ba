/**
 * Main-thread side of the engine worker: starts the module worker, wraps it with comlink, turns AbortSignals into
 * `cancel(opId)` calls and progress callbacks into comlink proxies. The store is its only user (components never
 * call the worker directly). Types that cross the boundary are re-exported from protocol.ts.
 */
import * as Comlink from 'comlink';
import type {
  DroppedFile, EngineApi, ExportedZip, ExportProgress, LoadedAdapterMerge, GpuInfo, SessionSummary, SimilarityProgressEvent, SimilarityResult,
  TrainEvent, TrainOutcome, TrainSettings, AdapterFilesData, DatasetPreview, MemoryPlanView, GpuCheckProgress, GpuCheckResult,
  GraftCheckResult, GraftOptions, HandoffOptions, SimilarityReport, DurableOptions, ResumableRun, RunEstimate, SpeedSample, CompareEstimate, CompareEvent, CompareOptions, CompareRun,
  CompareView, TryEvent, TryModelInfo, TryReply, TryRequest, ResumableCompare,
} from './protocol';

export type * from './protocol';
export { COMPARE_MODELS, COMPARE_MODEL_LABELS, DEFAULT_COMPARE_OPTIONS, PREFERENCE_MEASURES, TARGET_MODULES, compareModelLabels, resultLabels, runLabel } from './protocol';

let remote: Comlink.Remote<EngineApi> | null = null;
let nextOpId = 1;
const crashListeners = new Set<(message: string) => void>();

/** The wrapped worker, started on first use. */
function engine(): Comlink.Remote<EngineApi> {
  if (!remote) {
    const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'shadowft-engine' });
    worker.addEventListener('error', (e) => {
      for (const l of crashListeners) l(`The engine worker failed: ${e.message || 'it could not be started'}`);
    });
    remote = Comlink.wrap<EngineApi>(worker);
  }
  return remote;
}

/**
 * Runs a cancellable operation: allocates an opId, forwards `signal`'s abort to the worker's cancel(opId).
 * @throws the signal's reason at once when it is already aborted.
 */
async function cancellable<T>(signal: AbortSignal | undefined, run: (opId: number) => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  const opId = nextOpId++;
  const onAbort = (): void => void engine().cancel(opId);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await run(opId);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The engine as the store uses it. Every method runs in the worker; errors keep their message. */
export const engineClient = {
  /** Called with a message when the worker script fails to load or throws outside a call. */
  onWorkerError(listener: (message: string) => void): () => void {
    crashListeners.add(listener);
    return () => crashListeners.delete(listener);
  },

  /** Requests the WebGPU device; `onLost` gets the reason if the device is lost later. */
  gpuInfo(onLost: (message: string) => void): Promise<GpuInfo> {
    return engine().gpuInfo(Comlink.proxy(onLost));
  },

  addFiles(files: readonly DroppedFile[]): Promise<SessionSummary> {
    return engine().addFiles(files);
  },

  clearFiles(): Promise<SessionSummary> {
    return engine().clearFiles();
  },

  swapRoles(): Promise<SessionSummary> {
    return engine().swapRoles();
  },

  setDatasetEnabled(path: string, enabled: boolean): Promise<SessionSummary> {
    return engine().setDatasetEnabled(path, enabled);
  },
  removeDataset(path: string): Promise<SessionSummary> {
    return engine().removeDataset(path);
  },
  datasetPreview(settings: TrainSettings): Promise<DatasetPreview> {
    return engine().datasetPreview(settings);
  },
  estimateRun(settings: TrainSettings): Promise<RunEstimate> {
    return engine().estimateRun(settings);
  },
  estimateCompare(settings: TrainSettings, options: CompareOptions): Promise<CompareEstimate> {
    return engine().estimateCompare(settings, options);
  },

  /** Times a three-step warm-up of a run of `settings` (app/speedWarmup.ts); another GPU job stops it (AbortError). */
  measureSpeed(settings: TrainSettings, signal?: AbortSignal): Promise<SpeedSample> {
    return cancellable(signal, (id) => engine().measureSpeed(id, settings));
  },
  defaultSettings(): Promise<TrainSettings> {
    return engine().defaultSettings();
  },

  memoryPlan(settings: TrainSettings): Promise<MemoryPlanView> {
    return engine().memoryPlan(settings);
  },

  similarity(onProgress: (p: SimilarityProgressEvent) => void, signal?: AbortSignal): Promise<SimilarityResult> {
    return cancellable(signal, (id) => engine().similarity(id, Comlink.proxy(onProgress)));
  },

  train(settings: TrainSettings, onEvent: (e: TrainEvent) => void, signal?: AbortSignal, opts?: DurableOptions): Promise<TrainOutcome> {
    return cancellable(signal, (id) => engine().train(id, settings, Comlink.proxy(onEvent), opts));
  },

  /** The unfinished run stored in this browser (checkpoint in OPFS), or null. */
  resumableRun(): Promise<ResumableRun | null> {
    return engine().resumableRun();
  },

  /** Continues the stored unfinished run on the loaded pair. */
  resumeTraining(onEvent: (e: TrainEvent) => void, signal?: AbortSignal, opts?: DurableOptions): Promise<TrainOutcome> {
    return cancellable(signal, (id) => engine().resumeTraining(id, Comlink.proxy(onEvent), opts));
  },

  discardResumableRun(): Promise<void> {
    return engine().discardResumableRun();
  },

  /**
   * Test hooks, only when the page URL has `?testHooks=1`: enables the worker's debugLoseDevice.
   * @returns whether they were enabled.
   */
  async enableTestHooks(): Promise<boolean> {
    if (!new URLSearchParams(globalThis.location?.search ?? '').has('testHooks')) return false;
    await engine().enableTestHooks();
    return true;
  },

  /** Destroys the worker's GPU device (test hook; refused unless enableTestHooks() enabled it). */
  debugLoseDevice(): Promise<void> {
    return engine().debugLoseDevice();
  },

  /**
   * Runs the bundled golden fixtures on the worker's GPU (refused while training runs), streaming rows to `onProgress`.
   * @param root absolute URL of the fixtures folder, ending with "/".
   */
  checkGpu(root: string, onProgress: (p: GpuCheckProgress) => void, signal?: AbortSignal): Promise<GpuCheckResult> {
    return cancellable(signal, (id) => engine().checkGpu(id, root, Comlink.proxy(onProgress)));
  },

  restoreAdapter(files: AdapterFilesData, baseModel: string, instructModel: string, run?: { settings: TrainSettings; steps: number }): Promise<void> {
    return engine().restoreAdapter(files, baseModel, instructModel, run);
  },

  /** @param baseModelNameOrPath base_model_name_or_path of the adapter (blank: from the Instruct's config, else its folder name). */
  exportAdapter(baseModelNameOrPath?: string): Promise<ExportedZip> {
    return engine().exportAdapter(baseModelNameOrPath);
  },

  exportMerged(onProgress: (p: ExportProgress) => void, signal?: AbortSignal): Promise<ExportedZip> {
    return cancellable(signal, (id) => engine().exportMerged(id, Comlink.proxy(onProgress)));
  },

  /** The tuned Base W_B′ of the last full-parameter run (F32) as a zip (app/studioFull.ts). */
  exportTunedBase(onProgress: (p: ExportProgress) => void, signal?: AbortSignal): Promise<ExportedZip> {
    return cancellable(signal, (id) => engine().exportTunedBase(id, Comlink.proxy(onProgress)));
  },

  /** The merged Instruct W_I + (W_B′ − W_B) of the last full-parameter run as a zip (app/studioFull.ts). */
  exportFullMerged(onProgress: (p: ExportProgress) => void, signal?: AbortSignal): Promise<ExportedZip> {
    return cancellable(signal, (id) => engine().exportFullMerged(id, Comlink.proxy(onProgress)));
  },

  mergeAdapterFiles(name: string, files: readonly { name: string; file: Blob }[], onProgress: (p: ExportProgress) => void, signal?: AbortSignal): Promise<LoadedAdapterMerge> {
    return cancellable(signal, (id) => engine().mergeAdapterFiles(id, name, files, Comlink.proxy(onProgress)));
  },

  saveToFolder(dir: FileSystemDirectoryHandle, onProgress: (p: ExportProgress) => void, signal?: AbortSignal, baseModelNameOrPath?: string): Promise<string[]> {
    return cancellable(signal, (id) => engine().saveToFolder(id, dir, Comlink.proxy(onProgress), baseModelNameOrPath));
  },

  exportHandoff(settings: TrainSettings, opts: HandoffOptions): Promise<ExportedZip> {
    return engine().exportHandoff(settings, opts);
  },

  prepareGraft(files: readonly DroppedFile[], opts: GraftOptions, pairReport: SimilarityReport | null, signal?: AbortSignal): Promise<GraftCheckResult> {
    return cancellable(signal, (id) => engine().prepareGraft(id, files, opts, pairReport));
  },

  exportGraft(onProgress: (p: ExportProgress) => void, signal?: AbortSignal): Promise<ExportedZip> {
    return cancellable(signal, (id) => engine().exportGraft(id, Comlink.proxy(onProgress)));
  },

  /** Compare: Shadow-FT vs conventional LoRA with `settings`, five models measured on the held-out split. */
  compare(settings: TrainSettings, options: CompareOptions, onEvent: (e: CompareEvent) => void, signal?: AbortSignal, opts?: { id?: string; startedAt?: string; checkpointEvery?: number }): Promise<CompareView> {
    return cancellable(signal, (id) => engine().compare(id, settings, options, Comlink.proxy(onEvent), opts));
  },
  /** The unfinished comparison stored in this browser (app/durableCompare.ts), or null. */
  resumableCompare(): Promise<ResumableCompare | null> {
    return engine().resumableCompare();
  },
  /** Continues the stored comparison on the loaded pair: finished stages skipped, the training under way resumed. */
  resumeCompare(onEvent: (e: CompareEvent) => void, signal?: AbortSignal, opts?: { checkpointEvery?: number }): Promise<CompareView> {
    return cancellable(signal, (id) => engine().resumeCompare(id, Comlink.proxy(onEvent), opts));
  },
  /** Forgets the stored unfinished comparison. */
  discardResumableCompare(): Promise<void> {
    return engine().discardResumableCompare();
  },

  /** One adapter of the last comparison as a PEFT zip. */
  exportCompareAdapter(run: CompareRun): Promise<ExportedZip> {
    return engine().exportCompareAdapter(run);
  },
  compareAdapterFiles(): Promise<Record<CompareRun, AdapterFilesData>> {
    return engine().compareAdapterFiles();
  },
  restoreCompareAdapters(files: Record<CompareRun, AdapterFilesData>, baseModel: string, instructModel: string): Promise<void> {
    return engine().restoreCompareAdapters(files, baseModel, instructModel);
  },

  /** Try it's models and whether each can answer now. */
  tryItModels(): Promise<TryModelInfo[]> {
    return engine().tryItModels();
  },

  /** The user messages of the first `n` held-out conversations. */
  heldoutMessages(n: number): Promise<string[]> {
    return engine().heldoutMessages(n);
  },

  /** Try it: the same message answered by each requested model, tokens streamed to `onEvent`. */
  tryIt(request: TryRequest, onEvent: (e: TryEvent) => void, signal?: AbortSignal): Promise<Record<string, TryReply>> {
    return cancellable(signal, (id) => engine().tryIt(id, request, Comlink.proxy(onEvent)));
  },
};

/** The type of {@link engineClient}. */
export type EngineClient = typeof engineClient;
