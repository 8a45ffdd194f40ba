/**
 * The studio's Compare on the loaded pair and the ticked datasets (worker side), with the training settings' stage and
 * fine-tuning type (app/compare/kind.ts): tokenise as training does (app/trainingData.ts tokenizeTrainingData, or
 * tokenizePreferenceData for stage dpo as app/prefTraining.ts does), find the Instruct stop tokens, run
 * app/compare/runCompare, and return what the UI shows: the result, its wording (app/compare/wording) and the answers
 * with their prompts and references.
 */
import type { GpuContext } from '../engine/gpu/context';
import { modelStopTokenIds } from '../engine/generate/stopTokens';
import type { TrainSettings } from '../engine/train/types';
import { runCompare, type CompareJob, type CompareOutcome } from './compare/runCompare';
import { compareKindOf, resultLabels } from './compare/kind';
import { pairConversations } from './compare/prefCompare';
import type { LoraAdapter } from '../engine/model/loraTypes';
import { COMPARE_MODELS, type CompareAnswer, type CompareEvent, type CompareModel, type CompareOptions, type CompareResult, type CompareRun } from './compare/types';
import { describeComparison, type Wording } from './compare/wording';
import { validateCompareOptions } from './compare/metrics';
import { instructTokenizer } from './datasetPreview';
import type { Session } from './session';
import type { TryModelInfo } from './tryit';
import { refuseDatasetKinds } from './prefTraining';
import { tokenizePreferenceData, tokenizeTrainingData } from './trainingData';

/** One evaluated prompt with every model's answer. */
export interface CompareSample {
  readonly source: string;
  readonly prompt: string;
  readonly reference: string;
  readonly answers: Readonly<Partial<Record<CompareModel, CompareAnswer>>>;
}

/** What the Compare panel shows (plain data). */
export interface CompareView {
  readonly result: CompareResult;
  readonly wording: Wording;
  readonly samples: readonly CompareSample[];
}

/** The view of an outcome. */
export function compareView(o: CompareOutcome): CompareView {
  const samples = o.prompts.map((p, i): CompareSample => ({
    source: p.source,
    prompt: p.userMessage,
    reference: p.reference,
    answers: Object.fromEntries(COMPARE_MODELS.flatMap((m) => {
      const a = o.answers[m][i];
      return a ? [[m, a]] : [];
    })),
  }));
  return { result: o.result, wording: describeComparison({ ...o.result, checkRegex: o.result.options.checkRegex, labels: resultLabels(o.result) }), samples };
}

/**
 * The adapters of a comparison, for Try it and the PEFT exports.
 * @throws Error saying why there are none: a full-parameter comparison trains every weight (no adapter to download)
 */
export function compareAdaptersOf(c: { readonly adapters: Readonly<Record<CompareRun, LoraAdapter>> | null }): Readonly<Record<CompareRun, LoraAdapter>> {
  if (!c.adapters) throw new Error('This comparison was full-parameter (Fine-tuning type full): it trained every weight, so it has no LoRA adapter to download or try; use `npx shadowft compare --finetuning-type full --write-merged` for the grafted Instruct.');
  return c.adapters;
}

/**
 * Try it's models after a comparison: where the last comparison on this pair was full-parameter, the models it could
 * not give an adapter say so (Try it runs LoRA adapters on the pair) instead of asking for a Compare that already ran.
 */
export function tryInfoAfterCompare(infos: readonly TryModelInfo[], compared: { readonly adapters: unknown } | null): TryModelInfo[] {
  if (!compared || compared.adapters !== null) return [...infos];
  const why = 'the last Compare was full-parameter: it trained every weight and has no LoRA adapter to try';
  return infos.map((i) => (i.available || i.model === 'instruct' || i.model === 'base' ? i : { ...i, why }));
}

/**
 * Runs the comparison on the session's pair and ticked datasets.
 * @throws CompareError (bad regex or counts, stage dpo with full) before any work; Error without a pair, a training
 *   set or a held-out set (preference pairs for stage dpo), or a ticked dataset of the other kind; everything runCompare throws.
 * @param durable the hooks of a durable comparison (app/durableCompare.ts), passed to runCompare (LoRA kinds only)
 */
export async function compareOnSession(session: Session, ctx: GpuContext, settings: TrainSettings, options: CompareOptions, onEvent: (e: CompareEvent) => void, signal: AbortSignal, durable: Pick<CompareJob, 'hooks'> = {}): Promise<CompareOutcome> {
  validateCompareOptions(options);
  const kind = compareKindOf(settings);
  const pair = session.requirePair();
  refuseDatasetKinds([...session.datasetKinds('train'), ...session.datasetKinds('heldout')], kind.stage);
  const dpo = kind.stage === 'dpo';
  const trainRows = dpo ? session.pairs('train').length : session.conversations('train').length;
  if (trainRows === 0 && session.skippedRows('train').length === 0) throw new Error(dpo ? 'No preference dataset: Compare with Stage DPO trains on chosen/rejected pairs (e.g. story-titles-pref.train.trl.jsonl); tick or drop one.' : 'No training dataset: tick or drop a training file first.');
  const heldoutPairs = session.pairs('heldout');
  const heldoutConvs = dpo ? pairConversations(heldoutPairs) : session.conversations('heldout');
  if (heldoutConvs.length === 0) throw new Error(dpo ? 'Compare with Stage DPO needs held-out preference pairs: drop or tick a preference file whose name marks it as held-out (e.g. "story-titles-pref.heldout.trl.jsonl").' : 'Compare needs a held-out split: drop or tick a dataset file whose name marks it as held-out (e.g. "heldout.jsonl").');
  const instructFiles = pair.instruct.model.files;
  onEvent({ status: 'compare-message', message: `loading the tokenizer and chat template of ${instructFiles.name}` });
  const tok = await instructTokenizer(session);
  const vocab = Math.min(pair.base.config.vocabSize, pair.instruct.config.vocabSize);
  const say = (e: { status: string; message?: string }): void => {
    if (e.status === 'preparing' && e.message) onEvent({ status: 'compare-message', message: e.message });
  };
  let data: Pick<CompareJob, 'train' | 'heldout' | 'pairs'>;
  if (dpo) {
    const p = tokenizePreferenceData(tok, { pairs: session.pairs('train'), skipped: session.skippedRows('train') }, { pairs: heldoutPairs, skipped: session.skippedRows('heldout') }, settings, vocab, instructFiles.name, say);
    data = { train: [], heldout: (p.heldout ?? []).map((x) => x.chosen), pairs: { train: p.train, heldout: p.heldout ?? [] } };
  } else {
    const splits = tokenizeTrainingData(tok, { conversations: session.conversations('train'), skipped: session.skippedRows('train') }, { conversations: heldoutConvs, skipped: session.skippedRows('heldout') }, settings, vocab, instructFiles.name, say);
    data = { train: splits.train, heldout: splits.heldout ?? [] };
  }
  const stop = await modelStopTokenIds(instructFiles, pair.instruct.config, tok);
  for (const message of stop.warnings) onEvent({ status: 'compare-message', message });
  signal.throwIfAborted();
  return runCompare({
    ctx,
    base: { name: pair.base.model.files.name, config: pair.base.config, checkpoint: pair.base.checkpoint },
    instruct: { name: instructFiles.name, config: pair.instruct.config, checkpoint: pair.instruct.checkpoint },
    tok, ...data, heldoutConversations: heldoutConvs,
    settings, options, stopIds: stop.ids, onEvent, signal, ...durable,
  });
}
