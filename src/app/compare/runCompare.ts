/**
 * The comparison use case (issue 9): two LoRA adapters trained with identical settings, seed, data order and
 * initialisation, one after the other on the same GPU context — on Base (Shadow-FT: grafted onto Instruct, §3.1) and
 * on Instruct (conventional) — then five models measured on the held-out split the same way: Instruct,
 * Instruct + conventional LoRA, Instruct + Shadow-FT graft, Base and Base + LoRA (held-out loss; greedy answers of the
 * first N held-out prompts → exact match, the user's check, mean answer length). Runs in the worker and in the CLI.
 */
import type { Checkpoint } from '../../io/checkpoint';
import type { ModelConfig } from '../../io/config/types';
import type { Conversation, TokenizedExample } from '../../io/dataset/types';
import type { ChatTokenizer } from '../../io/tokenizer/load';
import type { GpuContext } from '../../engine/gpu/context';
import type { LoraAdapter } from '../../engine/model/loraTypes';
import { validateSettings } from '../../engine/train/defaults';
import { evalBatches } from '../../engine/train/evalBatches';
import type { TrainSettings } from '../../engine/train/types';
import { evaluateVariants, type Variant, type VariantMeasures } from './evaluate';
import type { CompareHooks } from './hooks';
import { CompareError, compileCheck, measureAnswers, validateCompareOptions } from './metrics';
import { heldoutPrompts, type HeldoutPrompt } from './prompts';
import { trainAdapter } from './trainAdapter';
import { COMPARE_MODELS, type CompareAnswer, type CompareEvent, type CompareModel, type CompareOptions, type CompareResult, type CompareRun, type PerModel } from './types';

/** One model of the pair as the comparison uses it. */
export interface CompareSide {
  readonly name: string;
  readonly config: ModelConfig;
  readonly checkpoint: Checkpoint;
}

/** Everything a comparison needs; the examples are tokenised with the Instruct chat template (app/trainingData.ts). */
export interface CompareJob {
  readonly ctx: GpuContext;
  readonly base: CompareSide;
  readonly instruct: CompareSide;
  /** the Instruct tokenizer (prompts, decoding) */
  readonly tok: ChatTokenizer;
  readonly train: readonly TokenizedExample[];
  readonly heldout: readonly TokenizedExample[];
  /** held-out conversations in file order (prompts and reference answers come from the first kept ones) */
  readonly heldoutConversations: readonly Conversation[];
  readonly settings: TrainSettings;
  readonly options: CompareOptions;
  /** tokens that end an answer (engine/generate/stopTokens.ts stopTokenIds) */
  readonly stopIds: ReadonlySet<number>;
  readonly onEvent: (e: CompareEvent) => void;
  readonly signal?: AbortSignal;
  /** GPU memory budget of each training run, bytes (runTraining's default when absent) */
  readonly budgetBytes?: number;
  /**
   * Adapters already trained with these settings (the DPO comparison, prefCompare.ts, trains them with its own
   * objective; app/durableCompare.ts passes those a resumed comparison finished before): those runs are skipped and
   * these are evaluated; `losses` are their per-step training losses.
   */
  readonly trained?: Partial<Readonly<Record<CompareRun, { readonly adapter: LoraAdapter; readonly steps: number; readonly losses: readonly number[] }>>>;
  /** Checkpoints, resume, per-stage callbacks and reused measures (compare/hooks.ts; app/durableCompare.ts). */
  readonly hooks?: CompareHooks;
}

/** The result, both adapters, the prompts and every answer. */
export interface CompareOutcome {
  readonly result: CompareResult;
  readonly adapters: Readonly<Record<CompareRun, LoraAdapter>>;
  readonly prompts: readonly HeldoutPrompt[];
  readonly answers: PerModel<readonly CompareAnswer[]>;
}

const perModel = <T>(f: (m: CompareModel) => T): PerModel<T> => Object.fromEntries(COMPARE_MODELS.map((m) => [m, f(m)])) as Record<CompareModel, T>;

/**
 * Runs a comparison. The options and settings are checked before any GPU work.
 * @throws CompareError (invalid check regex or counts, a prompt + answer tokens beyond max_position_embeddings), SettingsError, Error when there is no held-out split,
 *   everything runTraining throws, the signal's reason when cancelled.
 */
export async function runCompare(job: CompareJob): Promise<CompareOutcome> {
  const { ctx, settings: s, options: o, onEvent, signal } = job;
  validateCompareOptions(o);
  const check = compileCheck(o.checkRegex);
  validateSettings(s, job.base.config);
  validateSettings(s, job.instruct.config);
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

  const losses = new Map<CompareRun, number[]>([['shadow', []], ['conventional', []]]);
  const h = job.hooks ?? {};
  const train = async (run: CompareRun, side: CompareSide) => {
    onEvent({ status: 'compare-message', message: `training LoRA on ${side.name} (${run === 'shadow' ? 'Shadow-FT' : 'conventional'})` });
    const resume = h.resume?.[run];
    const t = await trainAdapter(ctx, side.config, side.checkpoint, job.train, s, job.tok.padTokenId, (event) => {
      if (event.status === 'step') losses.get(run)?.push(event.loss);
      if (event.status === 'resumed') losses.set(run, event.history.map((p) => p.loss));
      onEvent({ status: 'compare-train', run, event });
    }, signal, job.budgetBytes, { ...(resume ? { resume } : {}), ...(h.checkpointEvery ? { checkpointEvery: h.checkpointEvery } : {}), ...(h.onCheckpoint ? { onCheckpoint: (c) => (h.onCheckpoint as NonNullable<CompareHooks['onCheckpoint']>)(run, c) } : {}) });
    await h.onRunDone?.(run, { ...t, losses: [...(losses.get(run) ?? [])] });
    return t;
  };
  for (const run of ['shadow', 'conventional'] as const) losses.get(run)?.push(...(job.trained?.[run]?.losses ?? []));
  const shadow = job.trained?.shadow ?? (await train('shadow', job.base));
  const conventional = job.trained?.conventional ?? (await train('conventional', job.instruct));

  const T = Math.min(s.maxLength, Math.max(1, ...job.heldout.map((e) => e.inputIds.length)));
  const shape = { B: s.batchSize, T };
  const batches = evalBatches(job.heldout, shape.B * shape.T, s.maxLength, job.tok.padTokenId);
  const common = { ctx, tok: job.tok, batches, shape, prompts, maxNewTokens: o.maxNewTokens, stopIds: job.stopIds, check, seed: s.seed, onEvent, ...(signal ? { signal } : {}), ...(h.onMeasured ? { onMeasured: h.onMeasured } : {}) };
  const measured = new Map<CompareModel, VariantMeasures>();
  for (const [k, v] of Object.entries(h.measured ?? {}) as [CompareModel, VariantMeasures][]) measured.set(k, v);
  // Models measured by an earlier attempt (hooks.measured) are not measured again; a side with none left is not loaded.
  const evaluate = async (side: CompareSide, variants: Variant[]) => {
    const todo = variants.filter((v) => !measured.has(v.model));
    if (todo.length) for (const [k, v] of await evaluateVariants({ ...common, config: side.config, checkpoint: side.checkpoint }, todo)) measured.set(k, v);
  };
  await evaluate(job.base, [
    { model: 'base', adapter: null },
    { model: 'base_lora', adapter: shadow.adapter },
  ]);
  await evaluate(job.instruct, [
    { model: 'instruct', adapter: null },
    { model: 'instruct_conventional', adapter: conventional.adapter },
    { model: 'instruct_shadow', adapter: shadow.adapter },
  ]);
  const answers = perModel((m) => measured.get(m)?.answers ?? []);
  const rates = perModel((m) => measureAnswers(answers[m]));
  const lastMean = (run: CompareRun): number | null => {
    const l = (losses.get(run) ?? []).slice(-10);
    return l.length ? l.reduce((a, b) => a + b, 0) / l.length : null;
  };
  const result: CompareResult = {
    settings: s,
    options: o,
    base_model: job.base.name,
    instruct_model: job.instruct.name,
    train_examples: job.train.length,
    heldout_examples: job.heldout.length,
    eval_prompts: prompts.length,
    steps: { shadow: shadow.steps, conventional: conventional.steps },
    heldout_loss: perModel((m) => measured.get(m)?.loss ?? null),
    exact_match: perModel((m) => rates[m].exactMatch),
    check_rate: perModel((m) => rates[m].checkRate),
    mean_answer_tokens: perModel((m) => rates[m].meanTokens),
    final_train_loss: { shadow: lastMean('shadow'), conventional: lastMean('conventional') },
  };
  onEvent({ status: 'compare-done' });
  return { result, adapters: { shadow: shadow.adapter, conventional: conventional.adapter }, prompts, answers };
}
