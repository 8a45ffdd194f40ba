/**
 * Resume slice: the unfinished run stored by the worker (checkpoint in OPFS, app/checkpointStore.ts), the
 * "Checkpoint every" choice of new runs, and Resume / Discard. Resume of a run on the bundled demo pair loads the
 * demo again itself; for dropped models it asks for the folders by name (the worker checks their content id).
 * Test hooks (`?testHooks=1` in the page URL only): `window.__shadowftTest.loseDevice()` destroys the worker's GPU
 * device, to exercise the recovery from device.lost.
 */
import { engineClient, type DurableOptions, type ResumableRun } from '../worker/client';
import { newRunId } from './runHistory';
import { runActive, trackRun } from './runTracking';
import { errorMessage, type Slice } from './types';

/** The state and actions of the resume slice. */
export interface ResumeSlice {
  resume: {
    /** the stored unfinished run, or null */
    readonly info: ResumableRun | null;
    readonly error: string | null;
    /** optimizer steps between checkpoints of new runs; 0 = about one minute of work */
    readonly checkpointEvery: number;
    /** a resumed run is under way (started by resumeRun) */
    readonly running: boolean;
    /** the user agreed that a run goes on without checkpoints when one cannot be saved */
    readonly continueWithoutCheckpoints: boolean;
  };
  setContinueWithoutCheckpoints(v: boolean): void;
  setCheckpointEvery(n: number): void;
  /** Reads the stored unfinished run and installs the test hooks when the URL asks for them. */
  initResume(): Promise<void>;
  /**
   * Checkpoint options of the run with history id `runId` (and asks the browser to keep the site's storage:
   * navigator.storage.persist()).
   */
  checkpointOptions(runId: string): DurableOptions;
  /** After any run: re-reads the stored run, and asks for the GPU again when the device was lost meanwhile. */
  afterRun(): Promise<void>;
  resumeRun(): Promise<void>;
  cancelResume(): void;
  discardRun(): Promise<void>;
}

/** Folder names of the bundled demo pair (public/demo/manifest.json), or null when it cannot be read. */
export async function demoNames(): Promise<{ base: string; instruct: string } | null> {
  try {
    const m = (await (await fetch(`${import.meta.env.BASE_URL}demo/manifest.json`)).json()) as { base?: { name?: string }; instruct?: { name?: string } };
    return m.base?.name && m.instruct?.name ? { base: m.base.name, instruct: m.instruct.name } : null;
  } catch {
    return null;
  }
}

/** Creates the resume slice. */
export const createResumeSlice: Slice<ResumeSlice> = (set, get) => {
  const patch = (p: Partial<ResumeSlice['resume']>): void => set({ resume: { ...get().resume, ...p } });
  const refresh = async (): Promise<void> => {
    try {
      patch({ info: await engineClient.resumableRun() });
    } catch (e) {
      patch({ error: errorMessage(e) });
    }
  };
  return {
    resume: { info: null, error: null, running: false, checkpointEvery: 0, continueWithoutCheckpoints: false },
    setCheckpointEvery: (n) => patch({ checkpointEvery: n }),
    setContinueWithoutCheckpoints: (v) => patch({ continueWithoutCheckpoints: v }),
    initResume: async () => {
      if (await engineClient.enableTestHooks().catch(() => false)) {
        (globalThis as { __shadowftTest?: unknown }).__shadowftTest = { loseDevice: () => engineClient.debugLoseDevice() };
      }
      await refresh();
    },
    checkpointOptions: (runId) => {
      void navigator.storage?.persist?.().catch(() => false);
      const { checkpointEvery: n, continueWithoutCheckpoints: go } = get().resume;
      return { runId, ...(n > 0 ? { checkpointEvery: n } : {}), ...(go ? { continueWithoutCheckpoints: true } : {}) };
    },
    afterRun: async () => {
      await refresh();
      if (get().gpu.status === 'lost') await get().initGpu();
    },
    resumeRun: async () => {
      const info = get().resume.info;
      if (!info || runActive() || get().run.status === 'running') return;
      patch({ error: null });
      const names = (): string => `${get().session?.base?.name ?? ''}|${get().session?.instruct?.name ?? ''}`;
      const want = `${info.baseModel}|${info.instructModel}`;
      if (names() !== want) {
        const demo = await demoNames();
        if (demo && `${demo.base}|${demo.instruct}` === want) await get().loadDemo();
        if (names() !== want) {
          patch({ error: `To resume, drop the folders ${info.baseModel} (Base) and ${info.instructModel} (Instruct) again, with the datasets ${(info.datasets ?? []).join(', ')}.` });
          return;
        }
      }
      // Tick exactly the datasets the run used (the worker checks the tokenised data's identity).
      for (const d of info.datasets ? (get().session?.datasets ?? []) : []) {
        const want = info.datasets.includes(d.path);
        if (d.enabled !== want) await get().setDatasetEnabled(d.path, want);
      }
      const runId = info.runId ?? newRunId();
      patch({ running: true });
      try {
        // The whole-run bar and ETA of the resumed run come from an estimate of its own stored settings (the form may
        // hold other values, or its estimate may not be ready yet after a reload).
        const estimate = await engineClient.estimateRun(info.settings).catch(() => null);
        await trackRun(set, get, {
          runId, startedAt: info.startedAt ?? new Date().toISOString(), settings: info.settings, opening: `resuming run ${runId} from the checkpoint after step ${info.step} of ${info.totalSteps}`, estimate,
          call: (onEvent, signal) => engineClient.resumeTraining(onEvent, signal, { ...get().checkpointOptions(runId), ...(info.startedAt ? { startedAt: info.startedAt } : {}) }),
        });
      } finally {
        patch({ running: false });
      }
    },
    cancelResume: () => get().cancelTraining(),
    discardRun: async () => {
      await engineClient.discardResumableRun();
      await refresh();
    },
  };
};
