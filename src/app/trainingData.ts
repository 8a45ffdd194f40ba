/**
 * The training data of a run, as the studio and `shadowft train` both prepare it: conversations rendered with the
 * Instruct model's chat template and tokenised with its tokenizer (DESIGN.md: Base is trained with the Instruct
 * template), labels on assistant tokens only, cut at Max length, refused when too many rows are unusable; and the
 * same for preference pairs (stage dpo: chosen and rejected sequences, labels on the final answer).
 */
import type { Conversation, PreferencePair, SkippedRow, TokenizedExample } from '../io/dataset/types';
import type { ChatTokenizer } from '../io/tokenizer/load';
import { preparePairSplit, type PreparedPairSplit, type TokenizedPair } from '../io/tokenizer/pairs';
import { prepareSplit, refusalOf, type PreparedSplit } from '../io/tokenizer/prepare';
import type { TrainEvent, TrainSettings } from '../engine/train/types';

/** The conversations of one split and the rows its parsers skipped. */
export interface SplitInput {
  readonly conversations: readonly Conversation[];
  readonly skipped: readonly SkippedRow[];
}

/** Tokenised splits of a run. */
export interface TrainingData {
  readonly train: readonly TokenizedExample[];
  readonly heldout: readonly TokenizedExample[] | undefined;
  readonly trainSplit: PreparedSplit;
  readonly heldoutSplit: PreparedSplit | null;
  /** examples of both splits cut at Max length */
  readonly truncated: number;
}

/**
 * Tokenises the training and held-out splits with the Instruct tokenizer `tok` and `settings` (maxLength,
 * chatTemplateKwargs); reports what it does as 'preparing' events.
 * @param vocabSize min(vocab of Base, vocab of Instruct): token ids at or above it are refused by row
 * @param instructName the Instruct model's name, for the messages
 * @throws Error with refusalOf's message (which file and row, why) when a split has too many unusable rows;
 *   TokenizerError naming the row.
 */
export function tokenizeTrainingData(tok: ChatTokenizer, trainIn: SplitInput, heldoutIn: SplitInput, settings: TrainSettings, vocabSize: number, instructName: string, onEvent: (e: TrainEvent) => void): TrainingData {
  const kwargs = settings.chatTemplateKwargs ?? {};
  const prepare = (i: SplitInput) => prepareSplit(tok, i.conversations, i.skipped, settings.maxLength, vocabSize, kwargs);
  const { trainSplit, heldoutSplit } = bothSplits(prepare, trainIn, heldoutIn, trainIn.conversations.length + heldoutIn.conversations.length, heldoutIn.conversations.length, 'rows', onEvent, `examples with the ${instructName} chat template${optionsText(kwargs)}`);
  const train = trainSplit.examples;
  const heldout = heldoutSplit?.examples;
  const truncated = train.filter((e) => e.truncated).length + (heldout ?? []).filter((e) => e.truncated).length;
  if (truncated) onEvent({ status: 'preparing', message: `${truncated} examples are longer than Max length ${settings.maxLength} and were cut` });
  return { train, heldout, trainSplit, heldoutSplit, truncated };
}

const optionsText = (kwargs: Readonly<Record<string, unknown>>): string => (Object.keys(kwargs).length ? ` (options ${JSON.stringify(kwargs)})` : '');

/**
 * The steps both kinds of data share: announce the tokenisation, prepare the training split and the held-out split
 * (when it has rows or skips), refuse a split with too many unusable rows (refusalOf), report each split's skips.
 * @param unit what a row is called in messages ('rows' or 'pairs')
 * @param what the rest of the announcement after the count ("examples with the X chat template")
 * @throws Error with refusalOf's message; whatever `prepare` throws
 */
function bothSplits<I extends { readonly skipped: readonly SkippedRow[] }, S extends PreparedSplit | PreparedPairSplit>(
  prepare: (i: I) => S, trainIn: I, heldoutIn: I, count: number, heldoutRows: number, unit: 'rows' | 'pairs', onEvent: (e: TrainEvent) => void, what: string,
): { trainSplit: S; heldoutSplit: S | null } {
  onEvent({ status: 'preparing', phase: 'tokenise', message: `tokenising ${count} ${what}` });
  const trainSplit = prepare(trainIn);
  const refusal = refusalOf(trainSplit, 'training');
  if (refusal) throw new Error(refusal);
  const heldoutSplit = heldoutRows || heldoutIn.skipped.length ? prepare(heldoutIn) : null;
  const heldoutRefusal = heldoutSplit ? refusalOf(heldoutSplit, 'held-out') : null;
  if (heldoutRefusal) throw new Error(heldoutRefusal);
  for (const [name, sp] of [['training', trainSplit], ['held-out', heldoutSplit]] as const) {
    if (sp && sp.skipped.length) onEvent({ status: 'preparing', message: `${name}: ${sp.examples.length} ${unit} kept, ${sp.skipped.length} skipped (first: ${sp.skipped[0]?.file} row ${sp.skipped[0]?.row}: ${sp.skipped[0]?.reason})` });
  }
  return { trainSplit, heldoutSplit };
}

/** The preference pairs of one split and the rows its parsers skipped. */
export interface PairSplitInput {
  readonly pairs: readonly PreferencePair[];
  readonly skipped: readonly SkippedRow[];
}

/** Tokenised preference splits of a run (stage dpo). */
export interface PreferenceTrainingData {
  readonly train: readonly TokenizedPair[];
  readonly heldout: readonly TokenizedPair[] | undefined;
  readonly trainSplit: PreparedPairSplit;
  readonly heldoutSplit: PreparedPairSplit | null;
  /** chosen or rejected sequences of both splits cut at Max length */
  readonly truncated: number;
}

/**
 * {@link tokenizeTrainingData} for preference pairs: each pair's chosen and rejected conversations rendered once
 * with the Instruct template, labels on the final answer (io/tokenizer/pairs); the same refusal rules, counted in
 * pairs; 'preparing' events as for SFT.
 * @throws Error with refusalOf's message when a split has too many unusable pairs; TokenizerError naming the pair
 */
export function tokenizePreferenceData(tok: ChatTokenizer, trainIn: PairSplitInput, heldoutIn: PairSplitInput, settings: TrainSettings, vocabSize: number, instructName: string, onEvent: (e: TrainEvent) => void): PreferenceTrainingData {
  const kwargs = settings.chatTemplateKwargs ?? {};
  const prepare = (i: PairSplitInput) => preparePairSplit(tok, i.pairs, i.skipped, settings.maxLength, vocabSize, kwargs);
  const { trainSplit, heldoutSplit } = bothSplits(prepare, trainIn, heldoutIn, trainIn.pairs.length + heldoutIn.pairs.length, heldoutIn.pairs.length, 'pairs', onEvent, `preference pairs (chosen and rejected) with the ${instructName} chat template${optionsText(kwargs)}`);
  const all = [...trainSplit.examples, ...(heldoutSplit?.examples ?? [])];
  const truncated = all.reduce((n, p) => n + (p.chosen.truncated ? 1 : 0) + (p.rejected.truncated ? 1 : 0), 0);
  if (truncated) onEvent({ status: 'preparing', message: `${truncated} chosen or rejected sequences are longer than Max length ${settings.maxLength} and were cut` });
  return { train: trainSplit.examples, heldout: heldoutSplit?.examples, trainSplit, heldoutSplit, truncated };
}
