/**
 * Persistence (the only file that touches IndexedDB, via idb-keyval): the last similarity result, the training
 * settings and the last training run (with its adapter files) survive a reload. Values are stored with a schema
 * version; a value with another version is ignored. Storage failures (private mode, quota) are reported, not thrown.
 */
import { createStore, get as idbGet, set as idbSet, type UseStore } from 'idb-keyval';
import type { StoreApi } from 'zustand';
import { engineClient, type SimilarityResult, type TrainSettings } from '../worker/client';
import type { StudioState, TrainingRecord } from './types';

const VERSION = 3; // 2: TrainSettings gained `recompute`; 3: σ results carry the pair identity

/** What is stored under each key. */
interface Persisted {
  similarity: SimilarityResult;
  settings: { settings: TrainSettings; settingsFor: string | null; defaults?: TrainSettings | null };
  lastRun: TrainingRecord;
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
 * Loads the stored values into the store and hands the stored adapter back to the worker (so the exports work).
 * Never throws: unreadable storage leaves the store as it is (logged as a warning).
 */
export async function hydrate(api: StoreApi<StudioState>): Promise<void> {
  try {
    const [similarity, settings, lastRun] = await Promise.all([load('similarity'), load('settings'), load('lastRun')]);
    const s = api.getState();
    api.setState({
      ...(similarity && !s.similarity.result ? { similarity: { ...s.similarity, result: similarity } } : {}),
      ...(settings && !s.settings ? { settings: settings.settings, settingsFor: settings.settingsFor, defaults: settings.defaults ?? null } : {}),
      ...(lastRun && !s.lastRun ? { lastRun } : {}),
    });
    if (lastRun) {
      const o = lastRun.outcome;
      await engineClient.restoreAdapter(o.adapterFiles, o.baseModel, o.instructModel);
    }
  } catch (e) {
    console.warn('Could not restore the saved state from IndexedDB:', e);
  }
}

/** Saves the persisted parts whenever they change. @returns the unsubscribe function. */
export function persistChanges(api: StoreApi<StudioState>): () => void {
  return api.subscribe((s, prev) => {
    if (s.similarity.result && s.similarity.result !== prev.similarity.result) save('similarity', s.similarity.result);
    if (s.settings && (s.settings !== prev.settings || s.settingsFor !== prev.settingsFor || s.defaults !== prev.defaults)) save('settings', { settings: s.settings, settingsFor: s.settingsFor, defaults: s.defaults });
    if (s.lastRun && s.lastRun !== prev.lastRun) save('lastRun', s.lastRun);
  });
}
