/**
 * A stage-dpo run as the studio starts it (Shadow-DPO): the ticked preference datasets tokenised with the Instruct
 * chat template (app/trainingData.ts tokenizePreferenceData), the preference objective with LoRA on the Base
 * (engine/train/prefRun.ts), the adapter kept for export exactly like an SFT one (it is grafted onto Instruct the same
 * way). The untrained models' held-out log-probs are remembered per model and held-out pairs (app/prefEvalCacheStore.ts)
 * and reused by later runs, as the SFT path reuses its before-training losses. Also the refusal of a dataset whose kind does not fit the stage, by file name.
 */
import { buildAdapterFiles } from '../engine/graft/adapterFiles';
import type { GpuContext } from '../engine/gpu/context';
import { runPreferenceTraining } from '../engine/train/prefRun';
import type { TrainResult } from '../engine/train/run';
import type { TrainEvent, TrainSettings, TrainStage } from '../engine/train/types';
import type { DatasetKind } from '../io/dataset/types';
import { instructTokenizer } from './datasetPreview';
import type { TrainedAdapter } from './exports';
import type { Session } from './session';
import type { TrainOutcome, TrainRunOptions } from './training';
import { tokenizePreferenceData } from './trainingData';
import { getPrefReference, prefHeldoutKey, restorePrefEvalCache, setPrefReference } from './prefEvalCacheStore';

/**
 * Refuses ticked datasets whose kind does not fit `stage`: a preference file for sft, an SFT file for dpo.
 * @throws Error naming the file, its kind and what to do
 */
export function refuseDatasetKinds(datasets: readonly { name: string; kind: DatasetKind | null }[], stage: TrainStage): void {
  for (const d of datasets) {
    if (stage === 'dpo' && d.kind === 'sft') throw new Error(`${d.name} is an SFT dataset (conversations); the DPO stage needs preference pairs (chosen/rejected answers). Untick it or choose the SFT stage.`);
    if (stage === 'sft' && d.kind === 'preference') throw new Error(`${d.name} is a preference dataset (chosen/rejected pairs); choose the DPO stage to train on it, or untick it.`);
  }
}

/**
 * Tokenises the ticked preference pairs and runs stage dpo on the Base; same contract as trainOnSession.
 * @throws Error when no pair or no preference dataset is loaded, or a ticked dataset is SFT; the engine's errors
 */
export async function trainPreferenceOnSession(session: Session, ctx: GpuContext, settings: TrainSettings, onEvent: (e: TrainEvent) => void, signal: AbortSignal, opts: TrainRunOptions = {}): Promise<{ outcome: TrainOutcome; trained: TrainedAdapter; result: TrainResult }> {
  const pair = session.requirePair();
  refuseDatasetKinds([...session.datasetKinds('train'), ...session.datasetKinds('heldout')], 'dpo');
  const trainPairs = session.pairs('train');
  if (trainPairs.length === 0) throw new Error('No preference dataset: the DPO stage trains on chosen/rejected pairs (e.g. story-titles-pref.train.trl.jsonl); tick or drop one whose name does not mark it as held-out.');
  const instructName = pair.instruct.model.files.name;
  onEvent({ status: 'preparing', message: `loading the tokenizer and chat template of ${instructName}` });
  const tok = await instructTokenizer(session);
  const vocab = Math.min(pair.base.config.vocabSize, pair.instruct.config.vocabSize);
  const data = tokenizePreferenceData(tok, { pairs: trainPairs, skipped: session.skippedRows('train') }, { pairs: session.pairs('heldout'), skipped: session.skippedRows('heldout') }, settings, vocab, instructName, onEvent);
  signal.throwIfAborted();
  const key = data.heldout ? prefHeldoutKey(data.heldout, settings.maxLength) : '';
  await restorePrefEvalCache();
  const ids = { base: pair.baseId, instruct: pair.instructId };
  const cachedBase = data.heldout ? getPrefReference(ids.base, key) : undefined;
  const cachedInstruct = data.heldout ? getPrefReference(ids.instruct, key) : undefined;
  const result = await runPreferenceTraining({
    ...opts, ctx, config: pair.base.config, base: pair.base.checkpoint, instruct: pair.instruct.checkpoint,
    train: data.train, ...(data.heldout ? { heldout: data.heldout } : {}), settings, padTokenId: tok.padTokenId, signal, onEvent,
    cachedHeldoutReference: { ...(cachedBase ? { base: cachedBase } : {}), ...(cachedInstruct ? { instruct: cachedInstruct } : {}) },
    onHeldoutReference: (model, logps) => setPrefReference(ids[model], key, logps),
  });
  const trained: TrainedAdapter = { adapter: result.adapter, baseModel: pair.base.model.files.name, instructModel: instructName };
  const files = buildAdapterFiles(result.adapter, { baseModelNameOrPath: instructName });
  const outcome: TrainOutcome = {
    status: result.status === 'cancelled' ? 'cancelled' : 'done', steps: result.steps, baseModel: trained.baseModel, instructModel: instructName, settings,
    trainExamples: data.train.length, heldoutExamples: data.heldout?.length ?? 0,
    trainSkipped: data.trainSplit.skipped.length, heldoutSkipped: data.heldoutSplit?.skipped.length ?? 0, truncated: data.truncated,
    adapterFiles: { config: files['adapter_config.json'], safetensors: files['adapter_model.safetensors'] },
  };
  return { outcome, trained, result };
}
