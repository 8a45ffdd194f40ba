/**
 * Where the run history is kept: a tiny key-value interface with two implementations, IndexedDB (persist.ts
 * indexedDbBackend: idb-keyval, its own database "shadowft-runs") for the app and a Map (here) for tests. The
 * history logic (runHistory.ts) only sees this interface.
 */

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
