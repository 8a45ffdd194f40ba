/**
 * The studio's durable-comparison methods besides `compare` itself (app/studio.ts delegates to them; they go through
 * the same worker API): the unfinished comparison stored in this runtime (app/durableCompare.ts), Resume, and
 * Discard. Resume holds the GPU as a comparison does (the speed warm-up stops first, Try it's GPU memory is freed).
 */
import type { GpuContext } from '../engine/gpu/context';
import type { CompareOutcome } from './compare/runCompare';
import type { CompareEvent } from './compare/types';
import { compareView, type CompareView } from './compareSession';
import { defaultCompareStore } from './compareStateStore';
import { resumableCompareOf, resumeCompareDurably, type ResumableCompare } from './durableCompare';
import type { Operations } from './operations';
import type { Session } from './session';

/** What the methods need from the studio. */
export interface StudioCompareDeps {
  readonly session: Session;
  readonly ops: Operations;
  gpu(): Promise<GpuContext>;
  /** runs `f` as the only long GPU job once a speed warm-up has stopped (studio.ts gpuJob) */
  gpuJob<T>(job: string, f: () => Promise<T>): Promise<T>;
  /** frees Try it's models and generators before a GPU job */
  releaseTryIt(): void;
  /** keeps a finished comparison's adapters (for Try it and the exports) */
  remember(o: CompareOutcome): void;
}

/** The methods (spread into the studio's API). */
export function studioCompareMethods(d: StudioCompareDeps) {
  return {
    /** The unfinished (interrupted, cancelled or failed) comparison stored in this runtime, or null. */
    async resumableCompare(): Promise<ResumableCompare | null> {
      const s = await defaultCompareStore().load();
      return s ? resumableCompareOf(s) : null;
    },

    /**
     * Continues the stored comparison on the loaded pair (its settings and options are the stored ones).
     * @throws as resumeCompareDurably (folders or datasets to load again, a checkpoint of another run); the busy
     *   Error; AbortError when cancelled (what it finished stays stored).
     */
    resumeCompare(opId: number, onEvent: (e: CompareEvent) => void, opts?: { readonly checkpointEvery?: number }): Promise<CompareView> {
      return d.ops.withOp(opId, (signal) =>
        d.gpuJob('the comparison', async () => {
          d.releaseTryIt();
          const o = await resumeCompareDurably(d.session, d.gpu, onEvent, signal, { store: defaultCompareStore(), ...(opts?.checkpointEvery ? { checkpointEvery: opts.checkpointEvery } : {}) });
          d.remember(o);
          return compareView(o);
        }),
      );
    },

    /** Forgets the stored unfinished comparison (its finished adapters and checkpoint). */
    discardResumableCompare(): Promise<void> {
      return defaultCompareStore().clear();
    },
  };
}
