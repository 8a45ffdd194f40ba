/**
 * Memory-plan slice: the GPU memory plan of the current settings (engine/plan, computed in the worker from the device
 * limits), refreshed by the form while the user edits; the latest request wins.
 */
import { engineClient } from '../worker/client';
import { errorMessage, type PlanSlice, type Slice } from './types';

/** Creates the memory-plan slice. */
export const createPlanSlice: Slice<PlanSlice> = (set, get) => {
  let seq = 0;
  return {
    memory: { view: null, error: null },
    refreshPlan: async () => {
      const id = ++seq;
      const { settings, session, gpu } = get();
      if (!settings || !session?.pairReady || gpu.status !== 'ready') {
        set({ memory: { view: null, error: null } });
        return;
      }
      try {
        const view = await engineClient.memoryPlan(settings);
        if (id === seq) set({ memory: { view, error: null } });
      } catch (e) {
        if (id === seq) set({ memory: { view: null, error: errorMessage(e) } });
      }
    },
  };
};
