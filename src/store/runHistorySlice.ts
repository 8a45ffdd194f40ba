/**
 * Run-history slice: the list of every run of this browser (runHistory.ts, IndexedDB), which run the export panel
 * exports, deleting runs (with Undo: the last deleted run and its adapter are kept in memory until the next delete),
 * and handing a stored run's adapter to the worker (restoreAdapter) before it is exported.
 * Storage failures are shown in `historyError`, never thrown at the user's action.
 * The in-memory list is the truth for what the page shows: a write that finishes late never puts an older record
 * back over a newer one (a late held-out evaluation saved after the adapter keeps its loss on screen).
 */
import { engineClient, type AdapterFilesData } from '../worker/client';
import { RunHistory, type RunRecord } from './runHistory';
import { indexedDbBackend } from './persist';
import { errorMessage, type RunHistorySlice, type Slice } from './types';

/**
 * The first training run with an adapter, complete ones first (what the export panel exports by default), or null.
 * Comparisons are exported from their own row of the history (compare.json + both adapters).
 */
function exportableId(runs: readonly RunRecord[]): string | null {
  const train = runs.filter((r) => r.kind !== 'compare');
  return (train.find((r) => r.status === 'complete' && r.hasAdapter) ?? train.find((r) => r.hasAdapter))?.id ?? null;
}

/** The run-history slice over `history` (IndexedDB in the app, a Map backend in tests). */
export function runHistorySliceOver(history: RunHistory): Slice<RunHistorySlice> {
  return (set, get) => {
    /** The run whose adapter the worker holds now (null: none, or unknown after a reload). */
    let workerAdapter: string | null = null;
    /** Writes run one after another, in call order (a periodic save never lands after the final one). */
    let writes: Promise<void> = Promise.resolve();
    const upsert = (r: RunRecord): void => {
      const others = get().runs.filter((x) => x.id !== r.id);
      set({ runs: [r, ...others].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id)) });
    };
    return {
      runs: [],
      exportRunId: null,
      historyError: null,
      deletedRun: null,
      loadRuns: async () => {
        try {
          const runs = await history.list();
          set({ runs, exportRunId: get().exportRunId ?? exportableId(runs), historyError: null });
        } catch (e) {
          set({ historyError: `Could not read the run history from IndexedDB: ${errorMessage(e)}` });
        }
      },
      selectExportRun: (id) => set({ exportRunId: id }),
      deleteRun: async (id) => {
        if (get().run.runId === id && get().run.status === 'running') return;
        if (get().compare?.runId === id && get().compare.status === 'running') return;
        const record = get().runs.find((r) => r.id === id);
        if (!record) return;
        try {
          // Read the adapter's bytes before the entry goes, so Undo can write them back.
          const copy = async (f: AdapterFilesData | null) => (f ? { config: f.config, safetensors: new Blob([await f.safetensors.arrayBuffer()]) } : null);
          const adapter = await copy(await history.adapter(id));
          const conventional = record.kind === 'compare' ? await copy(await history.conventional(id)) : null;
          await history.remove(id);
          if (workerAdapter === id) workerAdapter = null;
          const runs = get().runs.filter((r) => r.id !== id);
          const exportRunId = get().exportRunId === id ? exportableId(runs) : get().exportRunId;
          set({ runs, exportRunId, historyError: null, deletedRun: { record, adapter, conventional } });
        } catch (e) {
          set({ historyError: `Could not delete the run: ${errorMessage(e)}` });
        }
      },
      undoDelete: async () => {
        const d = get().deletedRun;
        if (!d) return;
        try {
          await history.put(d.record);
          if (d.adapter) await history.putAdapter(d.record.id, d.adapter);
          if (d.conventional) await history.putConventional(d.record.id, d.conventional);
          set({ deletedRun: null, historyError: null });
          upsert(d.record);
          if (get().exportRunId === null && d.record.hasAdapter && d.record.kind !== 'compare') set({ exportRunId: d.record.id });
        } catch (e) {
          set({ historyError: `Could not restore the deleted run: ${errorMessage(e)}` });
        }
      },
      ensureExportAdapter: async () => {
        const id = get().exportRunId;
        const r = get().runs.find((x) => x.id === id);
        if (!id || !r) throw new Error('Choose a run to export first.');
        if (workerAdapter !== id) {
          const files = await history.adapter(id);
          if (!files) throw new Error(`Run ${r.startedAt} has no stored adapter.`);
          await engineClient.restoreAdapter(files, r.baseModel, r.instructModel, { settings: r.settings, steps: r.stepsDone });
          workerAdapter = id;
        }
        return r;
      },
      runAdapter: (id) => history.adapter(id),
      compareAdapters: (id) => history.compareAdapters(id),
      saveRun: (record, adapter, conventional) => {
        upsert(record);
        writes = writes.then(async () => {
          try {
            await history.put(record);
            if (adapter) {
              await history.putAdapter(record.id, adapter);
              // Only the flag comes from this write: a newer record saved meanwhile (a late event) stays on screen.
              const now = get().runs.find((x) => x.id === record.id) ?? record;
              upsert({ ...now, hasAdapter: true });
            }
            if (conventional && record.compare) {
              await history.putConventional(record.id, conventional);
              const now = get().runs.find((x) => x.id === record.id) ?? record;
              if (now.compare) upsert({ ...now, compare: { ...now.compare, hasAdapters: true } });
            }
          } catch (e) {
            set({ historyError: `Could not save run ${record.id} in IndexedDB: ${errorMessage(e)}` });
          }
        });
        return writes;
      },
      adapterIsFrom: (id) => {
        workerAdapter = id;
      },
    };
  };
}

/** Creates the run-history slice over the IndexedDB history. */
export const createRunHistorySlice: Slice<RunHistorySlice> = runHistorySliceOver(new RunHistory(indexedDbBackend()));
