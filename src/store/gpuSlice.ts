/**
 * GPU slice: the worker's WebGPU adapter (architecture, isFallbackAdapter, limits) and device loss.
 * A lost device is shown with its reason; the worker creates a new device on the next GPU call.
 */
import { engineClient } from '../worker/client';
import { errorMessage, type GpuSlice, type Slice } from './types';

/** Creates the GPU slice. */
export const createGpuSlice: Slice<GpuSlice> = (set, get) => ({
  gpu: { status: 'pending', info: null, error: null },
  initGpu: async () => {
    set({ gpu: { ...get().gpu, status: 'pending', error: null } });
    try {
      const info = await engineClient.gpuInfo((message) => set({ gpu: { ...get().gpu, status: 'lost', error: message } }));
      set({ gpu: { status: 'ready', info, error: null } });
    } catch (e) {
      set({ gpu: { status: 'error', info: null, error: errorMessage(e) } });
    }
  },
});
