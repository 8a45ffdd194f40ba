/**
 * Similarity slice: runs σ per tensor in the worker (engine/analysis computeSimilarity) with progress and
 * cancellation; the last result (report + CSV) is persisted by persist.ts.
 */
import { engineClient } from '../worker/client';
import { errorMessage, isAbort, type Slice, type SimilaritySlice } from './types';

/** Creates the similarity slice. */
export const createSimilaritySlice: Slice<SimilaritySlice> = (set, get) => {
  let controller: AbortController | null = null;
  return {
    similarity: { status: 'idle', progress: null, result: null, error: null },
    computeSimilarity: async () => {
      controller?.abort();
      const c = new AbortController();
      controller = c;
      const keep = get().similarity.result;
      set({ similarity: { status: 'running', progress: null, result: keep, error: null } });
      try {
        const result = await engineClient.similarity((progress) => {
          if (controller === c) set({ similarity: { ...get().similarity, progress } });
        }, c.signal);
        if (controller === c) set({ similarity: { status: 'done', progress: null, result, error: null } });
      } catch (e) {
        if (controller !== c) return;
        set({ similarity: { status: isAbort(e) ? 'cancelled' : 'error', progress: null, result: keep, error: isAbort(e) ? null : errorMessage(e) } });
      } finally {
        if (controller === c) controller = null;
      }
    },
    cancelSimilarity: () => controller?.abort(),
  };
};
