/**
 * Compare and Try it (issue 9): the comparison's options, its estimate, its live progress (whole-job bar with the ETA
 * and a bar per stage: compareProgress.ts; the two training loss curves, the evaluation under way) and its result; Try it's prompt, system prompt, generation settings, each model's chat so far
 * (tryChat.ts) and one streamed column per model.
 * Both run in the worker; the last comparison's view (results, answers, curves) and both adapters' PEFT files are
 * persisted by persist.ts, and the adapters go back to the worker when one is downloaded after a reload.
 */
import {
  DEFAULT_COMPARE_OPTIONS, engineClient, type AdapterFilesData, type CompareEstimate, type CompareEvent, type CompareOptions, type CompareRun, type CompareView, type ExportedZip, type GenerateSettings,
  type TryEvent, type TryItModel, type TryModelInfo, type TryReply, type ResumableCompare,
} from '../worker/client';
import { COMPARE_MODEL_LABELS } from '../worker/client';
import { errorMessage, isAbort, type OpStatus, type Slice } from './types';
import { applyRunAdapter, restoreForTryIt } from './tryAdapter';
import { commitExchange, type TryChat } from './tryChat';
import { applyCompareEvent } from './compareEvents';

export { applyCompareEvent };
import type { CompareProgressView } from './compareProgress';
import { cancelActiveCompare, compareActive, compareSpeeds, preparePairFor, runTrackedCompare } from './compareRun';
import type { Speeds } from './runProgress';

/** One optimizer step of one of the two runs. */
export interface CurvePoint {
  readonly step: number;
  readonly loss: number;
}

/** The live comparison. */
export interface CompareRunState {
  readonly status: OpStatus;
  /** what runs now ("Shadow-FT step 3/10", "held-out loss of Base: batch 2/8", …) */
  readonly message: string;
  readonly log: readonly string[];
  readonly curves: Readonly<Record<CompareRun, readonly CurvePoint[]>>;
  readonly totalSteps: Readonly<Record<CompareRun, number>>;
  readonly view: CompareView | null;
  readonly error: string | null;
  /** whole-job progress with the ETA and each stage (compareProgress.ts); null without an estimate */
  readonly progress?: CompareProgressView | null;
  /** when the comparison shown ended (ISO time), and whether its view was restored from storage after a reload (persist.ts: its adapters are not kept) */
  readonly endedAt?: string;
  readonly restored?: boolean;
  /** both adapters as PEFT files, kept with the view (persist.ts) so they can be downloaded after a reload */
  readonly adapterFiles?: Readonly<Record<CompareRun, AdapterFilesData>> | null;
  /** the run-history id of the comparison running or shown (compareRun.ts) */
  readonly runId?: string;
}

/** One Try it column. */
export interface TryColumn {
  readonly text: string;
  readonly tokens: number;
  /** null while streaming */
  readonly reply: TryReply | null;
}

/** Try it's state. */
export interface TryItState {
  readonly status: OpStatus;
  readonly prompt: string;
  readonly settings: GenerateSettings;
  /** the models of the loaded pair and whether each can answer */
  readonly models: readonly TryModelInfo[];
  readonly selected: readonly TryItModel[];
  readonly columns: Readonly<Partial<Record<TryItModel, TryColumn>>>;
  readonly message: string;
  readonly error: string | null;
  /** held-out user messages for "use held-out prompts", and which one is shown */
  readonly heldout: readonly string[];
  readonly heldoutIndex: number;
  /** The run-history run whose adapter is the LoRA on Base (tryAdapter.ts); null: this session's last training or comparison. */
  readonly adapterRunId: string | null;
  /** the chat's system prompt (blank: none) */
  readonly system: string;
  /** each model's earlier turns (tryChat.ts), and the message the columns on screen answer (null before the first) */
  readonly chat: TryChat;
  readonly asked: string | null;
}

/** Actions and state of Compare and Try it. */
export interface CompareSlice {
  compareOptions: CompareOptions;
  compare: CompareRunState;
  /**
   * the plan of a comparison with the current settings and options (app/compareEstimate.ts), and the speeds it is
   * timed with (compareRun.ts compareSpeeds: the training estimate's, answers at the measured decode speed); speeds
   * null before the first refresh
   */
  compareEstimate: { readonly data: CompareEstimate | null; readonly error: string | null; readonly speeds?: Speeds | null };
  /** Re-plans the next comparison (no-op without a pair, training data and held-out data). */
  refreshCompareEstimate(): Promise<void>;
  tryIt: TryItState;
  setCompareOptions(o: CompareOptions): void;
  /** Runs the comparison with the current training settings (no-op while one runs or without settings). */
  startCompare(): Promise<void>;
  cancelCompare(): void;
  /** The unfinished comparison stored in this browser (app/durableCompare.ts), offered for Resume; null: none. */
  resumableCompare: ResumableCompare | null;
  /** Asks the worker for the unfinished comparison. */
  refreshResumableCompare(): Promise<void>;
  /** Continues the unfinished comparison (no-op without one or while one runs); errors go to compare.error. */
  resumeCompare(): Promise<void>;
  /** Forgets the unfinished comparison (its record in the run history stays, as interrupted or cancelled). */
  discardResumableCompare(): Promise<void>;
  /** One adapter of the last comparison as a zip, or null after an error (shown in compare.error). */
  exportCompareAdapter(run: CompareRun): Promise<ExportedZip | null>;
  /** Asks the worker which Try it models can answer now. */
  refreshTryModels(): Promise<void>;
  setTryPrompt(prompt: string): void;
  setTrySettings(s: GenerateSettings): void;
  setTrySelected(models: readonly TryItModel[]): void;
  setTrySystem(system: string): void;
  /** Starts a new chat: forgets every model's earlier turns and the answers on screen. */
  newTryChat(): void;
  /** Uses run `id`'s stored adapter as Try it's LoRA on Base (any run of the history with an adapter for the pair). */
  setTryAdapterRun(id: string): Promise<void>;
  /** Puts the next held-out user message into the prompt box. */
  nextHeldoutPrompt(): Promise<void>;
  /** Generates with every selected available model (no-op while generating or with an empty prompt). */
  startGenerate(): Promise<void>;
  cancelGenerate(): void;
}

/** A comparison that has not started. */
export const IDLE_COMPARE: CompareRunState = { status: 'idle', message: '', log: [], curves: { shadow: [], conventional: [] }, totalSteps: { shadow: 0, conventional: 0 }, view: null, error: null };

/** The Try it columns after one event. */
function applyTryEvent(t: TryItState, e: TryEvent): TryItState {
  switch (e.status) {
    case 'try-loading':
      return { ...t, message: e.message };
    case 'try-token':
      return { ...t, message: '', columns: { ...t.columns, [e.model]: { text: e.text, tokens: e.tokens, reply: null } } };
    case 'try-reply':
      return { ...t, message: '', columns: { ...t.columns, [e.model]: { text: e.reply.text, tokens: e.reply.newTokens, reply: e.reply } } };
  }
}

/** Creates the compare slice. */
export const createCompareSlice: Slice<CompareSlice> = (set, get) => {
  let estimateSeq = 0;
  let tryCtl: AbortController | null = null;
  const setTry = (patch: Partial<TryItState>): void => set({ tryIt: { ...get().tryIt, ...patch } });
  let restoring = false;
  return {
    compareOptions: DEFAULT_COMPARE_OPTIONS,
    compare: IDLE_COMPARE,
    compareEstimate: { data: null, error: null },
    refreshCompareEstimate: async () => {
      const id = ++estimateSeq;
      const { settings, session, compareOptions } = get();
      if (!settings || !session?.pairReady || session.trainExamples === 0 || session.heldoutExamples === 0) {
        set({ compareEstimate: { data: null, error: null, speeds: null } });
        return;
      }
      const speeds = compareSpeeds(get, () => void get().refreshCompareEstimate());
      try {
        const data = await engineClient.estimateCompare(settings, compareOptions);
        if (id === estimateSeq) set({ compareEstimate: { data, error: null, speeds } });
      } catch (e) {
        if (id === estimateSeq) set({ compareEstimate: { data: null, error: errorMessage(e), speeds } });
      }
    },
    tryIt: {
      status: 'idle', prompt: '', settings: { maxNewTokens: 64, temperature: 0, topP: 1, seed: 42 }, models: [], selected: ['base', 'instruct', 'base_lora', 'instruct_shadow', 'instruct_conventional'],
      columns: {}, message: '', error: null, heldout: [], heldoutIndex: -1, adapterRunId: null, system: '', chat: {}, asked: null,
    },
    setCompareOptions: (compareOptions) => set({ compareOptions }),
    startCompare: () => runTrackedCompare(set, get),
    cancelCompare: () => cancelActiveCompare(),
    resumableCompare: null,
    refreshResumableCompare: async () => {
      try {
        const r = await engineClient.resumableCompare();
        if (!compareActive()) set({ resumableCompare: r });
      } catch {
        set({ resumableCompare: null });
      }
    },
    resumeCompare: async () => {
      const r = get().resumableCompare;
      if (!r || compareActive()) return;
      const problem = await preparePairFor(get, r);
      if (problem) set({ compare: { ...get().compare, error: problem } });
      else await runTrackedCompare(set, get, r);
    },
    discardResumableCompare: async () => {
      await engineClient.discardResumableCompare().catch(() => {});
      set({ resumableCompare: null });
    },
    exportCompareAdapter: async (run) => {
      try {
        const c = get().compare;
        // After a reload the worker has no comparison: its stored adapters go back first (for the same pair only).
        if (c.restored && c.view && c.adapterFiles) {
          const { base_model: base, instruct_model: instruct } = c.view.result;
          const s = get().session;
          if (s?.base?.name !== base || s.instruct?.name !== instruct) throw new Error(`Load ${base} (Base) and ${instruct} (Instruct) first (Load demo, or drop the folders): these adapters belong to that pair.`);
          await engineClient.restoreCompareAdapters(c.adapterFiles, base, instruct);
          set({ compare: { ...get().compare, restored: false } });
        }
        return await engineClient.exportCompareAdapter(run);
      } catch (e) {
        set({ compare: { ...get().compare, error: errorMessage(e) } });
        return null;
      }
    },
    refreshTryModels: async () => {
      try {
        setTry({ models: await engineClient.tryItModels() });
      } catch {
        setTry({ models: [] }); // no pair loaded: nothing to try
        return;
      }
      // After a reload the worker holds no adapter: the newest stored one for this pair comes back by itself.
      if (!restoring) {
        restoring = true;
        try {
          await restoreForTryIt(set, get);
        } finally {
          restoring = false;
        }
      }
    },
    setTryAdapterRun: (id) => applyRunAdapter(set, get, id),
    setTryPrompt: (prompt) => setTry({ prompt }),
    setTrySettings: (settings) => setTry({ settings }),
    setTrySelected: (selected) => setTry({ selected }),
    setTrySystem: (system) => setTry({ system }),
    newTryChat: () => {
      if (!tryCtl) setTry({ chat: {}, asked: null, columns: {}, error: null, message: '' });
    },
    nextHeldoutPrompt: async () => {
      let heldout = get().tryIt.heldout;
      if (heldout.length === 0) heldout = await engineClient.heldoutMessages(100);
      if (heldout.length === 0) {
        setTry({ error: 'No held-out dataset is loaded.' });
        return;
      }
      const i = (get().tryIt.heldoutIndex + 1) % heldout.length;
      setTry({ heldout, heldoutIndex: i, prompt: heldout[i] as string, error: null });
    },
    startGenerate: async () => {
      const t = get().tryIt;
      if (tryCtl || t.prompt.trim() === '') return;
      const models = t.selected.filter((m) => t.models.some((x) => x.model === m && x.available));
      if (models.length === 0) {
        setTry({ error: 'Choose at least one available model.' });
        return;
      }
      const c = new AbortController();
      tryCtl = c;
      // The exchange on screen becomes each model's earlier turn; the new message follows it.
      const chat = commitExchange(t.chat, t.asked, t.columns);
      const asked = t.prompt;
      setTry({ status: 'running', columns: {}, error: null, message: 'starting', chat, asked });
      try {
        await engineClient.tryIt({ message: asked, models, settings: t.settings, templateKwargs: get().settings?.chatTemplateKwargs ?? {}, system: t.system, turns: chat }, (e) => set({ tryIt: applyTryEvent(get().tryIt, e) }), c.signal);
        setTry({ status: 'done', message: '', prompt: get().tryIt.prompt === asked ? '' : get().tryIt.prompt });
      } catch (e) {
        setTry({ status: isAbort(e) ? 'cancelled' : 'error', message: isAbort(e) ? 'Cancelled' : '', error: isAbort(e) ? null : errorMessage(e) });
      } finally {
        tryCtl = null;
      }
    },
    cancelGenerate: () => tryCtl?.abort(),
  };
};
