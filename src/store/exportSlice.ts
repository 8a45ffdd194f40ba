/**
 * Export slice: the PEFT adapter zip, the merged Instruct model zip, and "Save to folder…" (File System Access API),
 * all produced in the worker from the adapter of the run chosen in the export panel (any run of the history).
 */
import { engineClient, type ExportedZip, type ExportProgress } from '../worker/client';
import { errorMessage, isAbort, type ExportSlice, type Slice } from './types';

/** Creates the export slice. */
export const createExportSlice: Slice<ExportSlice> = (set, get) => {
  let controller: AbortController | null = null;
  const run = async <T>(kind: NonNullable<ExportSlice['exporting']['kind']>, f: (signal: AbortSignal) => Promise<T>, done: (r: T) => string): Promise<T | null> => {
    controller?.abort();
    const c = new AbortController();
    controller = c;
    set({ exporting: { kind, progress: null, error: null, message: null } });
    try {
      const r = await f(c.signal);
      set({ exporting: { kind: null, progress: null, error: null, message: done(r) } });
      return r;
    } catch (e) {
      set({ exporting: { kind: null, progress: null, error: isAbort(e) ? null : errorMessage(e), message: isAbort(e) ? 'Export cancelled' : null } });
      return null;
    } finally {
      if (controller === c) controller = null;
    }
  };
  const progress = (p: ExportProgress): void => set({ exporting: { ...get().exporting, progress: p } });
  const zipDone = (z: ExportedZip): string => `${z.fileName} ready (${(z.blob.size / 1024 / 1024).toFixed(2)} MiB)`;
  return {
    exporting: { kind: null, progress: null, error: null, message: null },
    loadedAdapterWarnings: [],
    mergeLoadedAdapter: async (files) => {
      set({ loadedAdapterWarnings: [] });
      // Picked files: a folder's relative path names the adapter; loose files are "adapter".
      const rel = (f: File): string => (f as File & { webkitRelativePath?: string }).webkitRelativePath ?? '';
      const top = rel(files[0] as File).split('/')[0] || 'adapter';
      const r = await run('loaded-adapter', (signal) => engineClient.mergeAdapterFiles(top, files.map((f) => ({ name: f.name, file: f })), progress, signal), (m) => `${zipDone(m)}: ${m.mergedTensors} weights merged from the loaded adapter`);
      if (r) set({ loadedAdapterWarnings: r.warnings });
      return r;
    },
    // Each export first makes the chosen run's adapter the worker's current one (runHistorySlice ensureExportAdapter).
    adapterBaseModel: '',
    setAdapterBaseModel: (v) => set({ adapterBaseModel: v }),
    exportAdapter: () => run('adapter', async () => (await get().ensureExportAdapter(), engineClient.exportAdapter(get().adapterBaseModel)), zipDone),
    exportMerged: () => run('merged', async (signal) => (await get().ensureExportAdapter(), engineClient.exportMerged(progress, signal)), zipDone),
    exportTunedBase: () => run('tuned-base', (signal) => engineClient.exportTunedBase(progress, signal), zipDone),
    exportFullMerged: () => run('full-merged', (signal) => engineClient.exportFullMerged(progress, signal), zipDone),
    saveToFolder: async (dir) => {
      await run('folder', async (signal) => (await get().ensureExportAdapter(), engineClient.saveToFolder(dir, progress, signal, get().adapterBaseModel)), (names) => `Saved ${names.join(' and ')} in ${dir.name}`);
    },
    cancelExport: () => controller?.abort(),
  };
};
