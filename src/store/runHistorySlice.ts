/**
 * Run-history slice: the list of every run of this browser (runHistory.ts, IndexedDB), which run the export panel
 * exports, deleting runs, and handing a stored run's adapter to the worker (restoreAdapter) before it is exported.
 * Storage failures are shown in `historyError`, never thrown at the user's action.
 */
import { engineClient } from '../worker/client';
import { RunHistory, type RunRecord } from './runHistory';
import { indexedDbBackend } from './persist';
import { errorMessage, type RunHistorySlice, type Slice } from './types';

const history = new RunHistory(indexedDbBackend());

/** Creates the run-history slice. */
export const createRunHistorySlice: Slice<RunHistorySlice> = (set, get) => {
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
    loadRuns: async () => {
      try {
        const runs = await history.list();
        const exportable = runs.find((r) => r.status === 'complete' && r.hasAdapter) ?? runs.find((r) => r.hasAdapter);
        set({ runs, exportRunId: get().exportRunId ?? exportable?.id ?? null, historyError: null });
      } catch (e) {
        set({ historyError: `Could not read the run history from IndexedDB: ${errorMessage(e)}` });
      }
    },
    selectExportRun: (id) => set({ exportRunId: id }),
    deleteRun: async (id) => {
      if (get().run.runId === id && get().run.status === 'running') return;
      try {
        await history.remove(id);
        if (workerAdapter === id) workerAdapter = null;
        const runs = get().runs.filter((r) => r.id !== id);
        const exportRunId = get().exportRunId === id ? (runs.find((r) => r.status === 'complete' && r.hasAdapter) ?? runs.find((r) => r.hasAdapter))?.id ?? null : get().exportRunId;
        set({ runs, exportRunId, historyError: null });
      } catch (e) {
        set({ historyError: `Could not delete the run: ${errorMessage(e)}` });
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
    saveRun: (record, adapter) => {
      upsert(record);
      writes = writes.then(async () => {
        try {
          await history.put(record);
          if (adapter) upsert(await history.putAdapter(record.id, adapter));
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
