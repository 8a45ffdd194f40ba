/**
 * Files slice: adding dropped files (or the demo) to the worker's session, Swap and Clear. When a new compatible
 * pair appears it fetches the training defaults and starts the σ computation.
 */
import { engineClient, type SessionSummary } from '../worker/client';
import { fetchDemoFiles } from './demo';
import { nextSettings } from './settingsDefaults';
import { IDLE_RUN } from './trainingSlice';
import { unorderedPairIdentity } from '../io/identity';
import { errorMessage, pairKey, type FilesSlice, type Slice, type StudioState } from './types';

type Get = () => StudioState;
type Set = (partial: Partial<StudioState>) => void;

/** Follow-ups of a new session summary: defaults for the form, and σ for a pair that has none yet. */
async function afterSession(session: SessionSummary, get: Get, set: Set): Promise<void> {
  const key = pairKey(session);
  if (!key) {
    // No usable pair any more (Clear, one model, an incompatible pair): drop the σ of the previous pair. The
    // defaults stay: they tell the user's edits from defaults when the pair comes back (settingsDefaults.ts).
    const idle = { status: 'idle', progress: null, result: null, error: null } as const;
    if (get().similarity.status !== 'running') set({ similarity: idle });
    return;
  }
  try {
    const defaults = await engineClient.defaultSettings();
    // Fields the user did not edit follow the new defaults (the batch size follows the examples), whatever the order of drops.
    set(nextSettings(get(), defaults, key));
  } catch {
    // keep the form as it is: the next session change asks again
  }
  const sim = get().similarity;
  // σ is keyed by the pair's content identity with the roles ignored (io/identity.ts): a Swap keeps it, re-dropped
  // changed weights under the same folder names do not.
  const id = session.base && session.instruct ? unorderedPairIdentity(session.base.identity, session.instruct.identity) : null;
  const sameModels = sim.result !== null && sim.result.pairId === id;
  if (sim.status !== 'running' && !sameModels) void get().computeSimilarity();
}

/** Creates the files slice. */
export const createFilesSlice: Slice<FilesSlice> = (set, get) => {
  /** Runs a session-changing worker call with the busy flag and error handling. */
  const update = async (f: () => Promise<SessionSummary>): Promise<void> => {
    set({ filesBusy: true, filesError: null });
    try {
      const session = await f();
      const before = pairKey(get().session);
      set({ session, filesBusy: false });
      // A finished run's banner (its error, its curve) belongs to the pair it ran on: another pair, or none, starts
      // clean (the run stays in the run history).
      const run = get().run;
      if (run.status !== 'running' && run.status !== 'idle' && pairKey(session) !== before) set({ run: IDLE_RUN });
      await afterSession(session, get, set);
    } catch (e) {
      set({ filesBusy: false, filesError: errorMessage(e) });
    }
  };
  return {
    session: null,
    filesBusy: false,
    filesError: null,
    addFiles: (files) => update(() => engineClient.addFiles(files)),
    loadDemo: () => update(async () => {
      await engineClient.clearFiles();
      return engineClient.addFiles(await fetchDemoFiles());
    }),
    clearFiles: () => update(() => engineClient.clearFiles()),
    swapRoles: () => update(() => engineClient.swapRoles()),
    setDatasetEnabled: (path, enabled) => update(() => engineClient.setDatasetEnabled(path, enabled)),
    removeDataset: (path) => update(() => engineClient.removeDataset(path)),
  };
};
