/**
 * Which trained LoRA Try it answers with (issue 20, fault 10: after a reload Try it could not use the adapters of
 * the run history). Any run in the history with a stored adapter for the loaded pair can be chosen; after a reload,
 * when the worker holds no adapter for the pair, the newest such run's adapter is restored by itself. A comparison
 * of the history brings both its adapters back (restoreCompareAdapters): its Shadow-FT LoRA answers as Base + LoRA
 * and Instruct + Shadow-FT graft, its conventional LoRA as Instruct + conventional LoRA.
 */
import { engineClient, type SessionSummary } from '../worker/client';
import type { RunRecord } from './runHistory';
import { errorMessage, type StudioState } from './types';

/** Runs of the history whose stored adapter was trained on the loaded pair (same names; same content id when known), newest first. */
export function adapterRunsFor(runs: readonly RunRecord[], session: SessionSummary | null): RunRecord[] {
  if (!session?.pairReady || !session.base || !session.instruct) return [];
  const { base, instruct } = session;
  return runs.filter((r) => r.hasAdapter && r.baseModel === base.name && r.instructModel === instruct.name && (r.pairId === null || session.pairId === null || r.pairId === session.pairId));
}

type Set = (p: Partial<StudioState>) => void;
type Get = () => StudioState;

/**
 * Makes run `id`'s stored adapter the worker's LoRA for Try it (and for the export panel, which is told so) and
 * re-reads the available models. Errors go to `tryIt.error`.
 */
export async function applyRunAdapter(set: Set, get: Get, id: string): Promise<void> {
  const r = get().runs.find((x) => x.id === id);
  const patch = (p: Partial<StudioState['tryIt']>): void => set({ tryIt: { ...get().tryIt, ...p } });
  try {
    if (!r) throw new Error(`run ${id} is not in the run history`);
    if (r.kind === 'compare') {
      const both = await get().compareAdapters(id);
      if (!both) throw new Error(`the comparison of ${new Date(r.startedAt).toLocaleString()} has no stored adapters`);
      await engineClient.restoreCompareAdapters(both, r.baseModel, r.instructModel);
    } else {
      const files = await get().runAdapter(id);
      if (!files) throw new Error(`the run of ${new Date(r.startedAt).toLocaleString()} has no stored adapter`);
      await engineClient.restoreAdapter(files, r.baseModel, r.instructModel);
      get().adapterIsFrom(id);
    }
    patch({ adapterRunId: id, error: null });
  } catch (e) {
    patch({ error: `Could not use that run's adapter: ${errorMessage(e)}` });
  }
  await get().refreshTryModels();
}

/**
 * After the worker listed Try it's models: when no LoRA on Base is available but the history holds one for this
 * pair (a reload emptied the worker), restores the newest. @returns whether it did.
 */
export async function restoreForTryIt(set: Set, get: Get): Promise<boolean> {
  const { tryIt, runs, session } = get();
  const lora = tryIt.models.find((m) => m.model === 'base_lora');
  if (!lora || lora.available || get().run.status === 'running') return false;
  const newest = adapterRunsFor(runs, session)[0];
  if (!newest) return false;
  await applyRunAdapter(set, get, newest.id);
  return true;
}
