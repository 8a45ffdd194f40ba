/**
 * The training data of a run, as the studio and `shadowft train` both prepare it: conversations rendered with the
 * Instruct model's chat template and tokenised with its tokenizer (DESIGN.md: Base is trained with the Instruct
 * template), labels on assistant tokens only, cut at Max length, refused when too many rows are unusable.
 */
import type { Conversation, SkippedRow, TokenizedExample } from '../io/dataset/types';
import type { ChatTokenizer } from '../io/tokenizer/load';
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
  onEvent({ status: 'preparing', phase: 'tokenise', message: `tokenising ${trainIn.conversations.length + heldoutIn.conversations.length} examples with the ${instructName} chat template${Object.keys(kwargs).length ? ` (options ${JSON.stringify(kwargs)})` : ''}` });
  const trainSplit = prepareSplit(tok, trainIn.conversations, trainIn.skipped, settings.maxLength, vocabSize, kwargs);
  const refusal = refusalOf(trainSplit, 'training');
  if (refusal) throw new Error(refusal);
  const heldoutSplit = heldoutIn.conversations.length || heldoutIn.skipped.length ? prepareSplit(tok, heldoutIn.conversations, heldoutIn.skipped, settings.maxLength, vocabSize, kwargs) : null;
  const heldoutRefusal = heldoutSplit ? refusalOf(heldoutSplit, 'held-out') : null;
  if (heldoutRefusal) throw new Error(heldoutRefusal);
  const train = trainSplit.examples;
  const heldout = heldoutSplit?.examples;
  for (const [name, sp] of [['training', trainSplit], ['held-out', heldoutSplit]] as const) {
    if (sp && sp.skipped.length) onEvent({ status: 'preparing', message: `${name}: ${sp.examples.length} rows kept, ${sp.skipped.length} skipped (first: ${sp.skipped[0]?.file} row ${sp.skipped[0]?.row}: ${sp.skipped[0]?.reason})` });
  }
  const truncated = train.filter((e) => e.truncated).length + (heldout ?? []).filter((e) => e.truncated).length;
  if (truncated) onEvent({ status: 'preparing', message: `${truncated} examples are longer than Max length ${settings.maxLength} and were cut` });
  return { train, heldout, trainSplit, heldoutSplit, truncated };
}
