/**
 * "Export for a cluster" (LLaMA-Factory + mergekit zip of the current settings and data) and "Graft a tuned Base"
 * (check a dropped TUNED folder against the loaded pair, show σ(W_B′, W_B), download the grafted Instruct model).
 * Both run in the worker (worker/handoff.ts); nothing here is persisted.
 */
import { engineClient, type DroppedFile, type ExportedZip, type ExportProgress, type GraftCheckResult } from '../worker/client';
import { errorMessage, isAbort, type OpStatus, type Slice } from './types';

/** State and actions of the handoff and graft features. */
export interface HandoffSlice {
  handoff: { busy: boolean; error: string | null; message: string | null };
  /** Builds the cluster export (zip) for the current settings; null after an error. */
  exportHandoff(opts: { finetuningType: 'lora' | 'full'; basePath: string; instructPath: string }): Promise<ExportedZip | null>;
  graft: {
    status: OpStatus;
    phase: 'check' | 'export' | null;
    files: readonly DroppedFile[] | null;
    check: GraftCheckResult | null;
    progress: ExportProgress | null;
    error: string | null;
    message: string | null;
  };
  /** Checks a dropped tuned Base (full model folder or LoRA adapter) against the loaded pair. */
  checkTuned(files: readonly DroppedFile[], opts: { sharedRowsOnly: boolean; skipDerivationCheck: boolean }): Promise<void>;
  /** The grafted Instruct model of the last check, as a zip; null after an error or a cancel. */
  exportGrafted(): Promise<ExportedZip | null>;
  cancelGraft(): void;
}

const IDLE_GRAFT: HandoffSlice['graft'] = { status: 'idle', phase: null, files: null, check: null, progress: null, error: null, message: null };

/** Creates the handoff slice. */
export const createHandoffSlice: Slice<HandoffSlice> = (set, get) => {
  let controller: AbortController | null = null;
  const fail = (e: unknown): void =>
    set({ graft: { ...get().graft, status: isAbort(e) ? 'cancelled' : 'error', phase: null, progress: null, error: isAbort(e) ? null : errorMessage(e), message: isAbort(e) ? 'Cancelled' : null } });
  return {
    handoff: { busy: false, error: null, message: null },
    exportHandoff: async (opts) => {
      const settings = get().settings;
      if (!settings) return null;
      set({ handoff: { busy: true, error: null, message: null } });
      try {
        const z = await engineClient.exportHandoff(settings, opts);
        set({ handoff: { busy: false, error: null, message: `${z.fileName} ready` } });
        return z;
      } catch (e) {
        set({ handoff: { busy: false, error: errorMessage(e), message: null } });
        return null;
      }
    },
    graft: IDLE_GRAFT,
    checkTuned: async (files, opts) => {
      controller?.abort();
      const c = new AbortController();
      controller = c;
      set({ graft: { ...IDLE_GRAFT, status: 'running', phase: 'check', files } });
      try {
        const pair = get().similarity.result?.report ?? null;
        const check = await engineClient.prepareGraft(files, opts, pair, c.signal);
        set({ graft: { ...get().graft, status: 'done', phase: null, check } });
      } catch (e) {
        fail(e);
      } finally {
        if (controller === c) controller = null;
      }
    },
    exportGrafted: async () => {
      if (!get().graft.check || controller) return null;
      const c = new AbortController();
      controller = c;
      set({ graft: { ...get().graft, status: 'running', phase: 'export', progress: null, error: null, message: null } });
      try {
        const z = await engineClient.exportGraft((p) => set({ graft: { ...get().graft, progress: p } }), c.signal);
        set({ graft: { ...get().graft, status: 'done', phase: null, progress: null, message: `${z.fileName} ready (${(z.blob.size / 1024 / 1024).toFixed(2)} MiB)` } });
        return z;
      } catch (e) {
        fail(e);
        return null;
      } finally {
        if (controller === c) controller = null;
      }
    },
    cancelGraft: () => controller?.abort(),
  };
};
