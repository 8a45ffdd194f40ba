/**
 * A training run as the studio starts it, in the engine worker: tokenise the dropped datasets with the Instruct
 * model's chat template (DESIGN.md: Base is trained with the Instruct template), run LoRA training on the Base
 * (src/engine/train/run.ts), and keep the adapter for export.
 */
import { buildAdapterFiles } from '../engine/graft/adapterFiles';
import type { GpuContext } from '../engine/gpu/context';
import { defaultTrainSettings, validateSettings } from '../engine/train/defaults';
import { checkpointWeightBytes, planJob, planSteps, runTraining, type TrainJob } from '../engine/train/run';
import type { ModelConfig } from '../io/config/types';
import type { TokenizedExample } from '../io/dataset/types';
import { chooseHeldoutRows } from './heldoutRows';
import { evalsDuringTraining, flopsOf } from './runEstimate';
import { describePlan, planAdvice } from '../engine/plan/advice';
import { dataSettingsProblem } from './settingsChecks';
import type { MemoryPlan } from '../engine/plan/memory';
import type { TrainEvent, TrainSettings } from '../engine/train/types';
import { tokenizeTrainingData } from './trainingData';
import { instructTokenizer } from './datasetPreview';
import { heldoutKey } from '../engine/train/evalCache';
import { evalCache, restoreEvalCache } from './evalCacheStore';
import type { TrainedAdapter } from './exports';
import type { Session } from './session';
import { refuseDatasetKinds, trainPreferenceOnSession } from './prefTraining';
import { stageOf } from '../engine/train/prefSettings';
import { isFullRun } from '../engine/train/runFull';
import { fullMemoryPlanFor, trainFullOnSession, type FullPlanInfo, type TrainedFull } from './fullTraining';

/** The PEFT files of an adapter, small enough to keep in IndexedDB and to read back with readAdapterFiles. */
export interface AdapterFilesData {
  readonly config: string;
  readonly safetensors: Blob;
}

/** What a finished (or cancelled) run returns; losses and evals arrive as TrainEvents. */
export interface TrainOutcome {
  readonly status: 'done' | 'cancelled';
  readonly steps: number;
  readonly baseModel: string;
  readonly instructModel: string;
  readonly settings: TrainSettings;
  readonly trainExamples: number;
  readonly heldoutExamples: number;
  /** Rows left out (parser + labelling) of the training / held-out split. */
  readonly trainSkipped: number;
  readonly heldoutSkipped: number;
  /** Examples cut at Max length. */
  readonly truncated: number;
  /** the PEFT files of a LoRA run; absent after a full-parameter run (its tuned weights are not kept in browser storage) */
  readonly adapterFiles?: AdapterFilesData;
}

/** The memory plan of a run with these settings, as text, and what to lower when it does not fit. */
export interface MemoryPlanView {
  readonly plan: MemoryPlan;
  /** describePlan: one line per category, the total against the budget and the largest buffer. */
  readonly text: string;
  /** planAdvice: suggestions with the bytes each saves (empty when the plan fits). */
  readonly advice: readonly string[];
  /** validateSettings' message naming the field (e.g. Max length above max_position_embeddings), or null. */
  readonly settingsError: string | null;
  /** finetuning_type full: trainable parameters, what "Train embeddings" off saves, the checkpoint size */
  readonly full?: FullPlanInfo;
}

/**
 * The memory plan (engine/plan) of training the loaded Base with `settings` on this device (finetuning_type full:
 * fullTraining.ts fullMemoryPlanFor), and whether the settings pass the engine's validateSettings.
 * @throws Error when no pair is loaded or the checkpoint's dtype is not a float type.
 */
export function memoryPlanFor(session: Session, ctx: GpuContext, settings: TrainSettings): MemoryPlanView {
  if (isFullRun(settings)) return fullMemoryPlanFor(session, ctx, settings);
  const { base } = session.requirePair();
  const plan = planJob({ ctx, config: base.config, base: base.checkpoint, settings });
  let settingsError: string | null = null;
  try {
    validateSettings(settings, base.config);
  } catch (e) {
    settingsError = e instanceof Error ? e.message : String(e);
  }
  // A batch larger than the data is a settings error, not a memory problem to lower step by step.
  const dataProblem = dataSettingsProblem(settings, session.conversations('train').length);
  settingsError ??= dataProblem;
  const advice = dataProblem ? [] : planAdvice(base.config, settings, checkpointWeightBytes(base.checkpoint), ctx.limits, plan);
  return { plan, text: describePlan(plan), advice, settingsError };
}

/**
 * Default settings for the loaded pair and the number of training conversations (engine defaultTrainSettings).
 * @throws Error when no pair is loaded.
 */
export function defaultSettingsFor(session: Session): TrainSettings {
  const pair = session.requirePair();
  return defaultTrainSettings(pair.base.config, Math.max(1, session.conversations('train').length || session.pairs('train').length));
}

/** Checkpoint options of a run (engine/train/run.ts TrainJob fields of the same names). */
export type TrainRunOptions = Pick<TrainJob, 'resume' | 'checkpointEvery' | 'onCheckpoint' | 'continueWithoutCheckpoints' | 'modelId'>;


/**
 * The held-out rows a run evaluates (Held-out rows, or the automatic choice: heldoutRows.ts), announced in the log.
 * @returns undefined without held-out data
 */
function heldoutRowsOf(cfg: ModelConfig, settings: TrainSettings, train: readonly TokenizedExample[], heldout: readonly TokenizedExample[] | undefined, padTokenId: number, onEvent: (e: TrainEvent) => void): readonly TokenizedExample[] | undefined {
  if (!heldout?.length) return heldout;
  const usable = train.filter((e) => e.labels.some((l) => l !== -100));
  const plan = usable.length ? planSteps(usable, settings, padTokenId) : [];
  const during = evalsDuringTraining(plan.length, settings.evalSteps ?? 0, true);
  const c = chooseHeldoutRows(cfg, settings, heldout, flopsOf(cfg, settings, plan.flat(), false), 4 + during);
  if (c.used < c.available) onEvent({ status: 'preparing', message: `held-out loss over the first ${c.used} of ${c.available} held-out rows (${c.auto ? 'Held-out rows 0 = automatic: evaluations within a quarter of the training work' : 'Held-out rows'})` });
  return heldout.slice(0, c.used);
}

/** The tokenised data of an SFT run on the session (LoRA or full), with the eval cache's entries for it. */
export interface SftRunData {
  readonly pair: ReturnType<Session['requirePair']>;
  readonly instructName: string;
  readonly padTokenId: number;
  readonly train: readonly TokenizedExample[];
  readonly heldout: readonly TokenizedExample[] | undefined;
  readonly trainSkipped: number;
  readonly heldoutSkipped: number;
  readonly truncated: number;
  /** cachedEval of the TrainJob (held-out losses of the untrained models from an earlier run) */
  readonly cachedEval: { readonly base?: number; readonly instruct?: number };
  /** onEvent wrapper that stores new before-training losses in the eval cache */
  readonly onEvent: (e: TrainEvent) => void;
}

/**
 * Tokenises the ticked SFT datasets with the Instruct chat template and picks the held-out rows (shared by the LoRA
 * and the full-parameter run).
 * @throws Error when no pair or no training dataset is loaded or a ticked dataset is a preference one; TokenizerError naming the row.
 */
export async function prepareSftRun(session: Session, settings: TrainSettings, onEvent: (e: TrainEvent) => void, signal: AbortSignal): Promise<SftRunData> {
  const pair = session.requirePair();
  refuseDatasetKinds([...session.datasetKinds('train'), ...session.datasetKinds('heldout')], 'sft');
  const trainConvs = session.conversations('train');
  const trainParseSkips = session.skippedRows('train');
  if (trainConvs.length === 0 && trainParseSkips.length === 0) throw new Error('No training dataset: tick or drop a .json, .jsonl, .csv or .parquet file whose name does not mark it as held-out (e.g. "train.jsonl").');
  const heldoutConvs = session.conversations('heldout');
  const instructName = pair.instruct.model.files.name;
  onEvent({ status: 'preparing', message: `loading the tokenizer and chat template of ${instructName}` });
  const tok = await instructTokenizer(session);
  const vocab = Math.min(pair.base.config.vocabSize, pair.instruct.config.vocabSize);
  const { train, heldout: allHeldout, trainSplit, heldoutSplit, truncated } = tokenizeTrainingData(tok, { conversations: trainConvs, skipped: trainParseSkips }, { conversations: heldoutConvs, skipped: session.skippedRows('heldout') }, settings, vocab, instructName, onEvent);
  signal.throwIfAborted();
  const heldout = heldoutRowsOf(pair.base.config, settings, train, allHeldout, tok.padTokenId, onEvent);
  const key = heldout ? heldoutKey(heldout, settings.maxLength) : '';
  await restoreEvalCache();
  const cachedBase = heldout ? evalCache.get(pair.baseId, key) : undefined;
  const cachedInstruct = heldout ? evalCache.get(pair.instructId, key) : undefined;
  return {
    pair, instructName, padTokenId: tok.padTokenId, train, heldout, trainSkipped: trainSplit.skipped.length, heldoutSkipped: heldoutSplit?.skipped.length ?? 0, truncated,
    cachedEval: { ...(cachedBase !== undefined ? { base: cachedBase } : {}), ...(cachedInstruct !== undefined ? { instruct: cachedInstruct } : {}) },
    onEvent: (e) => {
      if (e.status === 'eval' && e.when === 'before' && !e.cached && (e.model === 'base' || e.model === 'instruct')) evalCache.set(e.model === 'base' ? pair.baseId : pair.instructId, key, e.loss);
      onEvent(e);
    },
  };
}

/** What trainOnSession returns: the outcome, the kept weights (LoRA adapter or full-parameter W_B′) and the run's end. */
export interface SessionRun {
  readonly outcome: TrainOutcome;
  /** the LoRA adapter (null after a full-parameter run) */
  readonly trained: TrainedAdapter | null;
  /** W_B′ of a full-parameter run (absent for LoRA) */
  readonly full?: TrainedFull;
  readonly result: { readonly status: 'complete' | 'cancelled' };
}

/**
 * Tokenises and trains (stage dpo: app/prefTraining.ts; finetuning_type full: app/fullTraining.ts). Emits every TrainEvent (plus 'preparing' messages for tokenisation) through onEvent.
 * @param opts checkpoints and resume (TrainRunOptions)
 * @returns the outcome, the adapter (also after a cancel, with the steps done so far) and how the run ended.
 * @throws Error when no pair or no training dataset is loaded, TokenizerError naming the row, SettingsError naming
 *   the field, DeviceLimitError naming the buffer and the limit.
 */
export async function trainOnSession(
  session: Session,
  ctx: GpuContext,
  settings: TrainSettings,
  onEvent: (e: TrainEvent) => void,
  signal: AbortSignal,
  opts: TrainRunOptions = {},
): Promise<SessionRun> {
  if (stageOf(settings) === 'dpo') {
    if (isFullRun(settings)) throw new Error('Stage DPO trains LoRA only: choose Finetuning type LoRA, or stage SFT for a full-parameter run.');
    return trainPreferenceOnSession(session, ctx, settings, onEvent, signal, opts);
  }
  const d = await prepareSftRun(session, settings, onEvent, signal);
  if (isFullRun(settings)) return trainFullOnSession(ctx, settings, d, signal, opts);
  const { pair, instructName, train, heldout } = d;
  const result = await runTraining({
    ...opts,
    ctx,
    config: pair.base.config,
    base: pair.base.checkpoint,
    instruct: pair.instruct.checkpoint,
    train,
    ...(heldout ? { heldout } : {}),
    settings,
    padTokenId: d.padTokenId,
    signal,
    cachedEval: d.cachedEval,
    onEvent: d.onEvent,
  });
  const adapter = result.adapter;
  const trained: TrainedAdapter = { adapter, baseModel: pair.base.model.files.name, instructModel: instructName, settings, steps: result.steps };
  const files = buildAdapterFiles(adapter, { baseModelNameOrPath: instructName });
  const outcome: TrainOutcome = {
    status: result.status === 'cancelled' ? 'cancelled' : 'done',
    steps: result.steps,
    baseModel: trained.baseModel,
    instructModel: instructName,
    settings,
    trainExamples: train.length,
    heldoutExamples: heldout?.length ?? 0,
    trainSkipped: d.trainSkipped,
    heldoutSkipped: d.heldoutSkipped,
    truncated: d.truncated,
    adapterFiles: { config: files['adapter_config.json'], safetensors: files['adapter_model.safetensors'] },
  };
  return { outcome, trained, result };
}
