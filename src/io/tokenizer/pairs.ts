/**
 * Preference pairs → chosen and rejected token ids and labels, with the same render and labelling as SFT (./labels
 * tokenizeConversation): each of `prompt + [chosen]` and `prompt + [rejected]` is rendered ONCE with the Instruct chat
 * template, tokenised once, and its assistant spans located in that render. Only the FINAL answer is labelled (its
 * tokens through the end-of-turn token); assistant turns of a multi-turn prompt stay -100, as LLaMA-Factory's
 * PairwiseDatasetProcessor (encode_oneturn puts the history in the prompt) and TRL (only the completion) do.
 * Rows longer than Max length are cut at the right like SFT rows (LLaMA-Factory instead shares cutoff_len between
 * prompt and answer); a pair where either answer has no labelled token left after the shift is skipped.
 */
import type { PreferencePair, SkippedRow } from '../dataset/types';
import { TokenizerError, type ChatTokenizer } from './load';
import { IGNORE_INDEX, tokenizeConversation, type LabelledExample } from './labels';
import { chatTemplateOf, type TemplateKwargs } from './render';
import { RowSkip } from './spans';

/** A tokenised pair: two labelled examples (labels on the final answer only) and where the pair came from. */
export interface TokenizedPair {
  readonly chosen: LabelledExample;
  readonly rejected: LabelledExample;
  readonly source: string;
  readonly file: string;
  readonly row: number;
}

/** Keeps only the last labelled span of `ex` (the answer); earlier assistant turns become -100. */
function lastAnswerOnly(ex: LabelledExample, answer: 'chosen' | 'rejected', maxLength: number): LabelledExample {
  const span = ex.tokenSpans[ex.tokenSpans.length - 1];
  const chars = ex.charSpans[ex.charSpans.length - 1];
  if (!span || !chars) throw new RowSkip(`${ex.source}: the ${answer} answer has no labelled tokens`);
  const labels = new Int32Array(ex.labels.length).fill(IGNORE_INDEX);
  const end = Math.min(span[1], labels.length);
  for (let t = span[0]; t < end; t++) labels[t] = ex.inputIds[t] as number;
  // The loss shift drops the label at position 0, so an answer must keep a labelled token at t ≥ 1.
  if (end <= Math.max(span[0], 1)) throw new RowSkip(`${ex.source}: the ${answer} answer starts at token ${span[0]}, after Max length ${maxLength} (the prompt alone fills it)`);
  return { ...ex, labels, tokenSpans: [span], charSpans: [chars] };
}

/**
 * Tokenises one pair (see the file comment).
 * @param maxLength T_max in tokens per sequence; @param vocabSize V of the model (ids must be < V)
 * @throws TokenizerError for an id ≥ vocabSize (naming the pair); RowSkip (message starts with pair.source) when the
 *   template fails on it, the spans cannot be located, or an answer is cut off entirely
 */
export function tokenizePair(tok: ChatTokenizer, pair: PreferencePair, maxLength: number, vocabSize: number, kwargs: TemplateKwargs = {}): TokenizedPair {
  const one = (answer: 'chosen' | 'rejected'): LabelledExample => {
    const messages = [...pair.prompt, { role: 'assistant' as const, content: pair[answer] }];
    const ex = tokenizeConversation(tok, { messages, source: pair.source }, maxLength, vocabSize, kwargs);
    return lastAnswerOnly(ex, answer, maxLength);
  };
  return { chosen: one('chosen'), rejected: one('rejected'), source: pair.source, file: pair.file ?? pair.source, row: pair.row ?? 0 };
}

/** Pairs that were tokenised, rows skipped (with why), and the rows read (kept + every skip). */
export interface PreparedPairSplit {
  readonly examples: TokenizedPair[];
  readonly skipped: SkippedRow[];
  readonly rows: number;
}

/**
 * Tokenises the pairs of one split in order ({@link tokenizePair}); a pair that cannot be labelled is skipped and
 * reported with the rows the parsers already skipped (`parsedSkipped`). Refuse with prepare.ts refusalOf.
 * @throws TokenizerError for invalid maxLength/vocabSize, a missing chat template or an id outside the vocabulary
 */
export function preparePairSplit(tok: ChatTokenizer, pairs: readonly PreferencePair[], parsedSkipped: readonly SkippedRow[], maxLength: number, vocabSize: number, kwargs: TemplateKwargs = {}): PreparedPairSplit {
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new TokenizerError(`max length must be an integer ≥ 2, got ${maxLength}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new TokenizerError(`vocab size must be a positive integer, got ${vocabSize}`);
  chatTemplateOf(tok);
  const examples: TokenizedPair[] = [];
  const skipped: SkippedRow[] = [...parsedSkipped];
  for (const p of pairs) {
    try {
      examples.push(tokenizePair(tok, p, maxLength, vocabSize, kwargs));
    } catch (e) {
      if (!(e instanceof RowSkip)) throw e;
      skipped.push({ file: p.file ?? p.source, row: p.row ?? 0, reason: e.message.startsWith(`${p.source}: `) ? e.message.slice(p.source.length + 2) : e.message });
    }
  }
  return { examples, skipped, rows: pairs.length + parsedSkipped.length };
}
