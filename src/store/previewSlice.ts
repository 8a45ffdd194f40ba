/**
 * Dataset-preview slice: the first rows rendered with the Instruct template as the current settings train them
 * (worker datasetPreview), kept/skipped counts and reasons, truncation at Max length; the latest request wins.
 */
import { engineClient } from '../worker/client';
import { errorMessage, type PreviewSlice, type Slice } from './types';

/** Creates the preview slice. */
export const createPreviewSlice: Slice<PreviewSlice> = (set, get) => {
  let seq = 0;
  return {
    preview: { data: null, error: null, busy: false },
    refreshPreview: async () => {
      const id = ++seq;
      const { settings, session } = get();
      if (!settings || !session?.pairReady || session.datasets.length === 0) {
        set({ preview: { data: null, error: null, busy: false } });
        return;
      }
      set({ preview: { ...get().preview, busy: true } });
      try {
        const data = await engineClient.datasetPreview(settings);
        if (id === seq) set({ preview: { data, error: null, busy: false } });
      } catch (e) {
        if (id === seq) set({ preview: { data: null, error: errorMessage(e), busy: false } });
      }
    },
  };
};
