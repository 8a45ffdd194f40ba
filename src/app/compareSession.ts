/**
 * The studio's Compare on the loaded pair and the ticked datasets (worker side): tokenise as training does
 * (app/trainingData.ts tokenizeTrainingData), find the Instruct stop tokens, run app/compare/runCompare, and return what the UI shows:
 * the result, its wording (app/compare/wording) and the answers with their prompts and references.
 */
import type { GpuContext } from '../engine/gpu/context';
import { modelStopTokenIds } from '../engine/generate/stopTokens';
import type { TrainSettings } from '../engine/train/types';
import { runCompare, type CompareJob, type CompareOutcome } from './compare/runCompare';
import { COMPARE_MODELS, type CompareAnswer, type CompareEvent, type CompareModel, type CompareOptions, type CompareResult } from './compare/types';
import { describeComparison, type Wording } from './compare/wording';
import { validateCompareOptions } from './compare/metrics';
import { instructTokenizer } from './datasetPreview';
import type { Session } from './session';
import { tokenizeTrainingData } from './trainingData';

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
  return { result: o.result, wording: describeComparison({ ...o.result, checkRegex: o.result.options.checkRegex }), samples };
}

/**
 * Runs the comparison on the session's pair and ticked datasets.
 * @throws CompareError (bad regex or counts) before any work; Error without a pair, a training set or a held-out set;
 *   everything runCompare throws.
 * @param durable already-trained runs and the hooks of a durable comparison (app/durableCompare.ts), passed to runCompare
 */
export async function compareOnSession(session: Session, ctx: GpuContext, settings: TrainSettings, options: CompareOptions, onEvent: (e: CompareEvent) => void, signal: AbortSignal, durable: Pick<CompareJob, 'trained' | 'hooks'> = {}): Promise<CompareOutcome> {
  validateCompareOptions(options);
  const pair = session.requirePair();
  const trainConvs = session.conversations('train');
  if (trainConvs.length === 0 && session.skippedRows('train').length === 0) throw new Error('No training dataset: tick or drop a training file first.');
  const heldoutConvs = session.conversations('heldout');
  if (heldoutConvs.length === 0) throw new Error('Compare needs a held-out split: drop or tick a dataset file whose name marks it as held-out (e.g. "heldout.jsonl").');
  const instructFiles = pair.instruct.model.files;
  onEvent({ status: 'compare-message', message: `loading the tokenizer and chat template of ${instructFiles.name}` });
  const tok = await instructTokenizer(session);
  const vocab = Math.min(pair.base.config.vocabSize, pair.instruct.config.vocabSize);
  const splits = tokenizeTrainingData(tok, { conversations: trainConvs, skipped: session.skippedRows('train') }, { conversations: heldoutConvs, skipped: session.skippedRows('heldout') }, settings, vocab, instructFiles.name, (e) => {
    if (e.status === 'preparing') onEvent({ status: 'compare-message', message: e.message });
  });
  const stop = await modelStopTokenIds(instructFiles, pair.instruct.config, tok);
  for (const message of stop.warnings) onEvent({ status: 'compare-message', message });
  signal.throwIfAborted();
  return runCompare({
    ctx,
    base: { name: pair.base.model.files.name, config: pair.base.config, checkpoint: pair.base.checkpoint },
    instruct: { name: instructFiles.name, config: pair.instruct.config, checkpoint: pair.instruct.checkpoint },
    tok, train: splits.train, heldout: splits.heldout ?? [], heldoutConversations: heldoutConvs,
    settings, options, stopIds: stop.ids, onEvent, signal, ...durable,
  });
}
