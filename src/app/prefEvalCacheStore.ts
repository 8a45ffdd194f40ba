/**
 * Stage dpo's counterpart of app/evalCacheStore.ts: the held-out log-probs of the untrained Base and Instruct
 * (engine/train/prefRun.ts cachedHeldoutReference — the reference of every held-out preference metric, and the
 * 'before' metrics themselves), remembered per model content identity (io/identity.ts modelIdentity) and held-out
 * pairs (their chosen/rejected input_ids and labels and Max length, engine/train/evalCache.ts heldoutKey), kept in
 * IndexedDB (idb-keyval, database "shadowft-prefevalcache") across reloads. They do not depend on the training
 * settings, so a second DPO run (or a run started again after a reload) on the same pair and held-out pairs skips two
 * of its held-out passes. Where there is no IndexedDB (Node: the CLI) they live in memory only. Storage failures are
 * logged, never thrown: a missing entry only costs an evaluation.
 */
import { createStore, entries as idbEntries, set as idbSet, type UseStore } from 'idb-keyval';
import type { TokenizedPairRows } from '../io/dataset/prefBatches';
import { heldoutKey } from '../engine/train/evalCache';
import type { SplitLogps } from '../engine/train/prefEval';

let db: UseStore | null = null;
const store = (): UseStore => (db ??= createStore('shadowft-prefevalcache', 'logps'));
const available = (): boolean => typeof indexedDB !== 'undefined';
const memory = new Map<string, SplitLogps>();
/** The stored key: model identity and held-out key (neither contains "|"). */
const keyOf = (modelId: string, key: string): string => `${modelId}|${key}`;

/** The key of held-out pairs: heldoutKey over chosen, rejected, chosen, … (pair order) and Max length. */
export function prefHeldoutKey(pairs: readonly TokenizedPairRows[], maxLength: number): string {
  return heldoutKey(pairs.flatMap((p) => [p.chosen, p.rejected]), maxLength);
}

/** The remembered held-out log-probs (f64 [N] each) of the model `modelId` on the held-out pairs of `key`, if any. */
export function getPrefReference(modelId: string, key: string): SplitLogps | undefined {
  return memory.get(keyOf(modelId, key));
}

/** Remembers held-out log-probs (and stores them in IndexedDB where there is one); non-finite ones are not kept. */
export function setPrefReference(modelId: string, key: string, logps: SplitLogps): void {
  if (logps.chosen.length !== logps.rejected.length || ![...logps.chosen, ...logps.rejected].every(Number.isFinite)) return;
  const v = { chosen: Float64Array.from(logps.chosen), rejected: Float64Array.from(logps.rejected) };
  memory.set(keyOf(modelId, key), v);
  if (!available()) return;
  idbSet(keyOf(modelId, key), v, store()).catch((e: unknown) => console.warn('Could not keep held-out log-probs in IndexedDB:', e));
}

let restored: Promise<void> | null = null;

/** Reads the stored log-probs into memory (once per worker; later calls wait for the same read). Never throws. */
export function restorePrefEvalCache(): Promise<void> {
  restored ??= (async () => {
    if (!available()) return;
    try {
      for (const [k, v] of await idbEntries<string, SplitLogps>(store())) {
        if (v && v.chosen instanceof Float64Array && v.rejected instanceof Float64Array && !memory.has(String(k))) memory.set(String(k), v);
      }
    } catch (e) {
      console.warn('Could not read the kept held-out log-probs from IndexedDB:', e);
    }
  })();
  return restored;
}
