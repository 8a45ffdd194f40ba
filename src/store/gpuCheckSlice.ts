/**
 * GPU check slice: "Check this GPU" runs the golden fixtures bundled in public/fixtures on the worker's WebGPU device
 * (worker/gpuCheck.ts) and collects the streamed rows per model. It never starts while training runs (the worker
 * refuses it too: both use the same device). Not persisted: a result belongs to this page's device.
 */
import { engineClient, type GpuCheckProgress } from '../worker/client';
import { errorMessage, isAbort, type GpuCheckSlice, type GpuCheckState, type ModelCheckView, type Slice } from './types';

/** The state before any check. */
export const IDLE_CHECK: GpuCheckState = { status: 'idle', adapter: null, models: [], error: null, seconds: null };

function updateModel(s: GpuCheckState, name: string, f: (m: ModelCheckView) => ModelCheckView): GpuCheckState {
  return { ...s, models: s.models.map((m) => (m.name === name ? f(m) : m)) };
}

/** The check state after one progress event (pure; rows are appended in arrival order). */
export function applyGpuCheckEvent(s: GpuCheckState, e: GpuCheckProgress): GpuCheckState {
  switch (e.status) {
    case 'check-start':
      return { ...s, adapter: e.adapter, models: e.models.map((name) => ({ name, status: 'waiting', rows: [], fetched: null, error: null, seconds: null })) };
    case 'check-fetched':
      return updateModel(s, e.model, (m) => ({ ...m, status: 'running', fetched: { files: e.files, bytes: e.bytes, verified: e.verified } }));
    case 'check-row':
      return updateModel(s, e.model, (m) => ({ ...m, status: 'running', rows: [...m.rows, e.row] }));
    case 'check-model-done':
      return updateModel(s, e.model, (m) => ({ ...m, status: 'done', seconds: e.seconds }));
    case 'check-model-error':
      return updateModel(s, e.model, (m) => ({ ...m, status: 'error', error: e.message, seconds: e.seconds }));
  }
}

/** URL of the bundled fixtures folder (public/fixtures), absolute so the worker resolves it the same way. */
function fixturesRoot(): string {
  return new URL(`${import.meta.env.BASE_URL}fixtures/`, globalThis.location.href).href;
}

/** Creates the GPU check slice. */
export const createGpuCheckSlice: Slice<GpuCheckSlice> = (set, get) => {
  let controller: AbortController | null = null;
  return {
    gpuCheck: IDLE_CHECK,
    startGpuCheck: async () => {
      if (controller || get().run.status === 'running') return;
      const c = new AbortController();
      controller = c;
      const t0 = performance.now();
      set({ gpuCheck: { ...IDLE_CHECK, status: 'running' } });
      const seconds = (): number => (performance.now() - t0) / 1000;
      try {
        await engineClient.checkGpu(fixturesRoot(), (e) => set({ gpuCheck: applyGpuCheckEvent(get().gpuCheck, e) }), c.signal);
        set({ gpuCheck: { ...get().gpuCheck, status: 'done', seconds: seconds() } });
      } catch (e) {
        const cancelled = isAbort(e);
        set({ gpuCheck: { ...get().gpuCheck, status: cancelled ? 'cancelled' : 'error', error: cancelled ? null : errorMessage(e), seconds: seconds() } });
      } finally {
        controller = null;
      }
    },
    cancelGpuCheck: () => controller?.abort(),
  };
};
