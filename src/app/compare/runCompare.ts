/**
 * The comparison use case (issue 9; stage dpo: issue 17; finetuning_type full: issue 18): two runs trained with
 * identical settings, seed, data order and initialisation, one after the other on the same GPU context — on Base
 * (Shadow-FT: grafted onto Instruct, §3.1) and on Instruct (conventional) — then five models measured on the held-out
 * split the same way: Instruct, the conventionally tuned Instruct, the Shadow graft, Base and the tuned Base
 * (held-out loss; greedy answers of the first N held-out prompts → exact match, the user's check, mean answer length;
 * for stage dpo also the preference measures, compare/prefMeasures.ts). What the runs train and how each model is
 * built is compare/kind.ts's (LoRA adapters, or in-memory checkpoints for full); this file only orders the work.
 * Runs in the worker and in the CLI.
 */
import type { Conversation, TokenizedExample } from '../../io/dataset/types';
import { makePreferenceBatches, type TokenizedPairRows } from '../../io/dataset/prefBatches';
import type { ChatTokenizer } from '../../io/tokenizer/load';
import type { GpuContext } from '../../engine/gpu/context';
import type { LoraAdapter } from '../../engine/model/loraTypes';
import { validateSettings } from '../../engine/train/defaults';
import { evalBatches } from '../../engine/train/evalBatches';
import type { PrefEvalResult } from '../../engine/train/prefEval';
import type { TrainSettings } from '../../engine/train/types';
import { evaluateVariants, type VariantMeasures } from './evaluate';
import type { CompareHooks } from './hooks';
import { compareKindOf, groupByCheckpoint, modelSources, type CompareSide, type FullCompareWeights } from './kind';
import { CompareError, compileCheck, measureAnswers, validateCompareOptions } from './metrics';
import { preferenceMeasures } from './prefMeasures';
import { heldoutPrompts, type HeldoutPrompt } from './prompts';
import { trainCompareRuns, type TrainedCompare } from './trainRuns';
import { COMPARE_MODELS, type CompareAnswer, type CompareEvent, type CompareModel, type CompareOptions, type CompareResult, type CompareRun, type PerModel } from './types';

export type { CompareSide } from './kind';

/** Everything a comparison needs; the examples are tokenised with the Instruct chat template (app/trainingData.ts). */
export interface CompareJob {
  readonly ctx: GpuContext;
  readonly base: CompareSide;
  readonly instruct: CompareSide;
  /** the Instruct tokenizer (prompts, decoding) */
  readonly tok: ChatTokenizer;
  /** SFT training examples (stage sft; ignored for dpo, which trains on `pairs.train`) */
  readonly train: readonly TokenizedExample[];
  /** held-out examples the held-out loss is measured on (stage dpo: the chosen conversations of the held-out pairs) */
  readonly heldout: readonly TokenizedExample[];
  /** held-out conversations in file order (prompts and reference answers come from the first kept ones) */
  readonly heldoutConversations: readonly Conversation[];
  /** Stage dpo: the tokenised preference pairs (app/trainingData.ts tokenizePreferenceData). Required for dpo. */
  readonly pairs?: { readonly train: readonly TokenizedPairRows[]; readonly heldout: readonly TokenizedPairRows[] };
  /** stage (sft | dpo) and finetuningType (lora | full) choose the kind (compare/kind.ts) */
  readonly settings: TrainSettings;
  readonly options: CompareOptions;
  /** tokens that end an answer (engine/generate/stopTokens.ts stopTokenIds) */
  readonly stopIds: ReadonlySet<number>;
  readonly onEvent: (e: CompareEvent) => void;
  readonly signal?: AbortSignal;
  /** GPU memory budget of each training run, bytes (the engine's default when absent) */
  readonly budgetBytes?: number;
  /** Runs already trained with these settings: both trainings are skipped and these are evaluated. */
  readonly trained?: TrainedCompare;
  /**
   * Checkpoints, resume, runs a resumed comparison finished before, per-stage callbacks and reused measures
   * (compare/hooks.ts; app/durableCompare.ts). LoRA comparisons (SFT and DPO) only.
   */
  readonly hooks?: CompareHooks;
}

/** The result, what the runs produced (both adapters, or the full checkpoints), the prompts and every answer. */
export interface CompareOutcome {
  readonly result: CompareResult;
  /** the two LoRA adapters (Try it, PEFT export); null for a full comparison */
  readonly adapters: Readonly<Record<CompareRun, LoraAdapter>> | null;
  /** the full comparison's in-memory checkpoints; null for LoRA */
  readonly full: FullCompareWeights | null;
  readonly prompts: readonly HeldoutPrompt[];
  readonly answers: PerModel<readonly CompareAnswer[]>;
  /** stage dpo: each model's preference evaluation (loss and metrics); null per model for sft */
  readonly preference: PerModel<PrefEvalResult | null>;
}

const perModel = <T>(f: (m: CompareModel) => T): PerModel<T> => Object.fromEntries(COMPARE_MODELS.map((m) => [m, f(m)])) as Record<CompareModel, T>;

/**
 * Runs a comparison. The options and settings are checked before any GPU work.
 * @throws CompareError (invalid check regex or counts, a prompt + answer tokens beyond max_position_embeddings, stage
 *   dpo with finetuning_type full), SettingsError, Error when there is no held-out split (or, for dpo, no preference
 *   pairs), everything the engine's training runs throw, the signal's reason when cancelled.
 */
export async function runCompare(job: CompareJob): Promise<CompareOutcome> {
  const { ctx, settings: s, options: o, onEvent, signal } = job;
  validateCompareOptions(o);
  const check = compileCheck(o.checkRegex);
  const kind = compareKindOf(s);
  validateSettings(s, job.base.config);
  validateSettings(s, job.instruct.config);
  if (kind.stage === 'dpo' && !job.pairs) throw new Error('Compare with stage dpo needs preference pairs (chosen/rejected): tick preference files for training and held-out.');
  if (kind.stage === 'dpo' && job.pairs?.heldout.length === 0) throw new Error('Compare needs held-out preference pairs: drop or tick a preference file whose name marks it as held-out.');
  if (job.heldout.length === 0) throw new Error('Compare needs a held-out split: drop or tick a dataset file whose name marks it as held-out (e.g. "heldout.jsonl").');
  const keep = new Set(job.heldout.map((e) => e.source));
  const prompts = heldoutPrompts(job.tok, job.heldoutConversations, keep, o.evalPrompts, s.chatTemplateKwargs ?? {});
  const vocab = Math.min(job.base.config.vocabSize, job.instruct.config.vocabSize);
  for (const p of prompts) {
    const bad = p.promptIds.find((id) => id < 0 || id >= vocab);
    if (bad !== undefined) throw new Error(`${p.source}: prompt token id ${bad} is outside the vocabulary (vocab_size ${vocab})`);
    const maxPos = Math.min(job.base.config.maxPositionEmbeddings, job.instruct.config.maxPositionEmbeddings);
    if (p.promptIds.length + o.maxNewTokens > maxPos) throw new CompareError(`Answer tokens: the prompt of ${p.source} has ${p.promptIds.length} tokens; with ${o.maxNewTokens} new tokens it exceeds max_position_embeddings ${maxPos} (lower the answer tokens or the eval prompts)`);
  }

  const data = kind.stage === 'dpo' ? { stage: 'dpo' as const, train: job.pairs?.train ?? [] } : { stage: 'sft' as const, train: job.train };
  const h = job.hooks ?? {};
  const runs = job.trained ?? (await trainCompareRuns({ ctx, base: job.base, instruct: job.instruct, kind, data, settings: s, padTokenId: job.tok.padTokenId, onEvent, hooks: h, ...(signal ? { signal } : {}), ...(job.budgetBytes !== undefined ? { budgetBytes: job.budgetBytes } : {}) }));
  const groups = groupByCheckpoint(modelSources(job.base, job.instruct, runs.trained));

  const T = Math.min(s.maxLength, Math.max(1, ...job.heldout.map((e) => e.inputIds.length)));
  const shape = { B: s.batchSize, T };
  const batches = evalBatches(job.heldout, shape.B * shape.T, s.maxLength, job.tok.padTokenId);
  const common = { ctx, tok: job.tok, batches, shape, prompts, maxNewTokens: o.maxNewTokens, stopIds: job.stopIds, check, seed: s.seed, onEvent, ...(signal ? { signal } : {}), ...(h.onMeasured ? { onMeasured: h.onMeasured } : {}) };
  const measured = new Map<CompareModel, VariantMeasures>();
  for (const [k, v] of Object.entries(h.measured ?? {}) as [CompareModel, VariantMeasures][]) measured.set(k, v);
  // Models measured by an earlier attempt (hooks.measured) are not measured again; a checkpoint with none left is not loaded.
  for (const g of groups) {
    const todo = g.variants.filter((v) => !measured.has(v.model));
    if (todo.length) for (const [k, v] of await evaluateVariants({ ...common, config: g.config, checkpoint: g.checkpoint }, todo)) measured.set(k, v);
  }
  let pref = new Map<CompareModel, PrefEvalResult>();
  if (kind.stage === 'dpo' && job.pairs) {
    const prefBatches = makePreferenceBatches(job.pairs.heldout, s.batchSize, { maxLength: s.maxLength, padTokenId: job.tok.padTokenId, shuffle: false });
    pref = await preferenceMeasures(ctx, groups, prefBatches, s, onEvent, signal);
  }
  const answers = perModel((m) => measured.get(m)?.answers ?? []);
  const rates = perModel((m) => measureAnswers(answers[m]));
  const lastMean = (run: CompareRun): number | null => {
    const l = runs.losses[run].slice(-10);
    return l.length ? l.reduce((a, b) => a + b, 0) / l.length : null;
  };
  const metric = (f: (r: PrefEvalResult) => number): PerModel<number | null> => perModel((m) => {
    const r = pref.get(m);
    return r ? f(r) : null;
  });
  const result: CompareResult = {
    settings: s,
    options: o,
    base_model: job.base.name,
    instruct_model: job.instruct.name,
    stage: kind.stage,
    finetuning_type: kind.finetuningType,
    train_examples: kind.stage === 'dpo' ? data.train.length : job.train.length,
    heldout_examples: kind.stage === 'dpo' ? (job.pairs?.heldout.length ?? 0) : job.heldout.length,
    eval_prompts: prompts.length,
    steps: runs.steps,
    heldout_loss: perModel((m) => measured.get(m)?.loss ?? null),
    exact_match: perModel((m) => rates[m].exactMatch),
    check_rate: perModel((m) => rates[m].checkRate),
    mean_answer_tokens: perModel((m) => rates[m].meanTokens),
    preference_accuracy: metric((r) => r.metrics.accuracy),
    reward_margin: metric((r) => r.metrics.margin),
    chosen_logps: metric((r) => r.metrics.logpsChosen),
    rejected_logps: metric((r) => r.metrics.logpsRejected),
    final_train_loss: { shadow: lastMean('shadow'), conventional: lastMean('conventional') },
  };
  onEvent({ status: 'compare-done' });
  return {
    result,
    adapters: runs.trained.finetuningType === 'lora' ? runs.trained.adapters : null,
    full: runs.trained.finetuningType === 'full' ? runs.trained.weights : null,
    prompts,
    answers,
    preference: perModel((m) => pref.get(m) ?? null),
  };
}
