/**
 * Persistence (the only file that touches IndexedDB, via idb-keyval): the last similarity result, the training
 * settings, the checkpoint choices ("Checkpoint every", go on without checkpoints) and the last comparison (results,
 * answers, curves, both adapters) survive a reload; the run history (runHistory.ts: every run with its adapter) is kept through
 * {@link indexedDbBackend} in its own database and loaded by {@link hydrate} too. Values are stored with a schema
 * version; a value with another version is ignored. Storage failures (private mode, quota) are reported, not thrown.
 */
import { createStore, del as idbDel, get as idbGet, keys as idbKeys, set as idbSet, type UseStore } from 'idb-keyval';
import type { KeyValueBackend } from './runHistoryBackend';
import type { StoreApi } from 'zustand';
import type { SimilarityResult, TrainSettings } from '../worker/client';
import type { StudioState } from './types';
import { IDLE_COMPARE, type CompareRunState } from './compareSlice';
import type { CompareView } from '../worker/client';

const VERSION = 3; // 2: TrainSettings gained `recompute`; 3: σ results carry the pair identity

/** What is stored under each key. */
interface Persisted {
  similarity: SimilarityResult;
  settings: { settings: TrainSettings; settingsFor: string | null; defaults?: TrainSettings | null };
  /** the checkpoint choices of new runs (resumeSlice.ts) */
  checkpoints: { checkpointEvery: number; continueWithoutCheckpoints: boolean };
  /** the last finished comparison: results, wording, answers, both loss curves and both adapters' PEFT files */
  compare: { view: CompareView; curves: CompareRunState['curves']; endedAt: string; adapterFiles?: CompareRunState['adapterFiles'] };
}

interface Stored<T> {
  readonly version: number;
  readonly value: T;
}

let db: UseStore | null = null;
const store = (): UseStore => (db ??= createStore('shadowft-studio', 'state'));

async function load<K extends keyof Persisted>(key: K): Promise<Persisted[K] | null> {
  const v = await idbGet<Stored<Persisted[K]>>(key, store());
  return v && v.version === VERSION ? v.value : null;
}

function save<K extends keyof Persisted>(key: K, value: Persisted[K]): void {
  idbSet(key, { version: VERSION, value } satisfies Stored<Persisted[K]>, store()).catch((e: unknown) => {
    console.warn(`Could not save ${key} in IndexedDB:`, e);
  });
}

/**
 * Loads the stored values and the run history into the store (a run's adapter goes to the worker when it is exported).
 * Never throws: unreadable storage leaves the store as it is (logged as a warning).
 */
export async function hydrate(api: StoreApi<StudioState>): Promise<void> {
  await api.getState().loadRuns();
  try {
    const [similarity, settings, checkpoints, compare] = await Promise.all([load('similarity'), load('settings'), load('checkpoints'), load('compare')]);
    const s = api.getState();
    api.setState({
      ...(compare && !s.compare.view && s.compare.status === 'idle' ? { compare: { ...IDLE_COMPARE, status: 'done', view: compare.view, curves: compare.curves, endedAt: compare.endedAt, restored: true, adapterFiles: compare.adapterFiles ?? null } } : {}),
      ...(checkpoints ? { resume: { ...s.resume, ...checkpoints } } : {}),
      ...(similarity && !s.similarity.result ? { similarity: { ...s.similarity, result: similarity } } : {}),
      ...(settings && !s.settings ? { settings: settings.settings, settingsFor: settings.settingsFor, defaults: settings.defaults ?? null } : {}),
    });
  } catch (e) {
    console.warn('Could not restore the saved state from IndexedDB:', e);
  }
}

/** Saves the persisted parts whenever they change. @returns the unsubscribe function. */
export function persistChanges(api: StoreApi<StudioState>): () => void {
  return api.subscribe((s, prev) => {
    if (s.similarity.result && s.similarity.result !== prev.similarity.result) save('similarity', s.similarity.result);
    const c = s.compare;
    if (c.view && c.endedAt && !c.restored && (c.view !== prev.compare.view || c.adapterFiles !== prev.compare.adapterFiles)) save('compare', { view: c.view, curves: c.curves, endedAt: c.endedAt, adapterFiles: c.adapterFiles ?? null });
    if (s.resume.checkpointEvery !== prev.resume.checkpointEvery || s.resume.continueWithoutCheckpoints !== prev.resume.continueWithoutCheckpoints) {
      save('checkpoints', { checkpointEvery: s.resume.checkpointEvery, continueWithoutCheckpoints: s.resume.continueWithoutCheckpoints });
    }
    if (s.settings && (s.settings !== prev.settings || s.settingsFor !== prev.settingsFor || s.defaults !== prev.defaults)) save('settings', { settings: s.settings, settingsFor: s.settingsFor, defaults: s.defaults });
  });
}

/** The run history's IndexedDB backend (database "shadowft-runs", object store "runs"), opened on first use. */
export function indexedDbBackend(): KeyValueBackend {
  let runs: UseStore | null = null;
  const store = (): UseStore => (runs ??= createStore('shadowft-runs', 'runs'));
  return {
    get: <T>(key: string) => idbGet<T>(key, store()),
    set: (key, value) => idbSet(key, value, store()),
    del: (key) => idbDel(key, store()),
    keys: async () => (await idbKeys(store())).map(String),
  };
}
