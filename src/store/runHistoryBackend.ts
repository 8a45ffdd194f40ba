/**
 * Where the run history is kept: a tiny key-value interface with two implementations, IndexedDB (idb-keyval, its
 * own database "shadowft-runs" so the history never mixes with the settings store) for the app and a Map for
 * tests. The history logic (runHistory.ts) only sees this interface.
 */
import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';

/** Structured-cloneable values by string key. Every method may reject (quota, private mode). */
export interface KeyValueBackend {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

/** An in-memory backend (values are structured-cloned on set and get, as IndexedDB would). */
export function memoryBackend(): KeyValueBackend {
  const m = new Map<string, unknown>();
  return {
    get: async <T>(key: string) => (m.has(key) ? (structuredClone(m.get(key)) as T) : undefined),
    set: async (key, value) => void m.set(key, structuredClone(value)),
    del: async (key) => void m.delete(key),
    keys: async () => [...m.keys()],
  };
}

/** The IndexedDB backend (database "shadowft-runs", object store "runs"), opened on first use. */
export function indexedDbBackend(): KeyValueBackend {
  let db: UseStore | null = null;
  const store = (): UseStore => (db ??= createStore('shadowft-runs', 'runs'));
  return {
    get: <T>(key: string) => get<T>(key, store()),
    set: (key, value) => set(key, value, store()),
    del: (key) => del(key, store()),
    keys: async () => (await keys(store())).map(String),
  };
}
