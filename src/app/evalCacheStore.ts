/**
 * The before-training held-out losses (engine/train/evalCache.ts) kept across reloads, in the engine worker: each
 * remembered loss is written to IndexedDB (idb-keyval, database "shadowft-evalcache"), keyed by the model's content
 * identity and the held-out key, and read back once per worker before the first run or estimate uses the cache. So a
 * run started (or resumed) after a reload skips the Base and Instruct evaluations an earlier run on the same pair and
 * held-out data already made. Where there is no IndexedDB (Node: the CLI) the cache lives in memory only.
 * Storage failures are logged, never thrown: a missing cache entry only costs an evaluation.
 */
import { createStore, entries as idbEntries, set as idbSet, type UseStore } from 'idb-keyval';
import { EvalCache } from '../engine/train/evalCache';

let db: UseStore | null = null;
const store = (): UseStore => (db ??= createStore('shadowft-evalcache', 'losses'));
const available = (): boolean => typeof indexedDB !== 'undefined';

/** The stored key of a loss: model identity and held-out key (neither contains "|"). */
const keyOf = (modelId: string, key: string): string => `${modelId}|${key}`;

/** The worker's cache of before-training held-out losses, persisted as each loss is remembered. */
export const evalCache = new EvalCache((modelId, key, loss) => {
  if (!available()) return;
  idbSet(keyOf(modelId, key), loss, store()).catch((e: unknown) => console.warn('Could not keep a held-out loss in IndexedDB:', e));
});

let restored: Promise<void> | null = null;

/** Reads the stored losses into {@link evalCache} (once per worker; later calls wait for the same read). Never throws. */
export function restoreEvalCache(): Promise<void> {
  restored ??= (async () => {
    if (!available()) return;
    try {
      const rows = await idbEntries<string, number>(store());
      evalCache.restore(rows.flatMap(([k, loss]) => {
        const cut = String(k).lastIndexOf('|');
        return cut > 0 && typeof loss === 'number' ? [{ modelId: String(k).slice(0, cut), key: String(k).slice(cut + 1), loss }] : [];
      }));
    } catch (e) {
      console.warn('Could not read the kept held-out losses from IndexedDB:', e);
    }
  })();
  return restored;
}
