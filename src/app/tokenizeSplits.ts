/**
 * The training and held-out splits tokenised with the Instruct model's chat template, exactly as a training run uses
 * them (DESIGN.md: Base is trained with the Instruct template). Shared by the studio's training run
 * (app/training.ts), the comparison (app/compare) and `shadowft compare` (CLI), so all three see the same tokens.
 */
import type { TrainSettings } from '../engine/train/types';
import type { Conversation, SkippedRow } from '../io/dataset/types';
import type { ChatTokenizer } from '../io/tokenizer/load';
import { prepareSplit, refusalOf, type PreparedSplit } from '../io/tokenizer/prepare';

/** The conversations of one split and the rows its parsers skipped. */
export interface SplitInput {
  readonly conversations: readonly Conversation[];
  readonly skipped: readonly SkippedRow[];
}

/** Both splits ready for a run. */
export interface TokenizedSplits {
  readonly train: PreparedSplit;
  /** null when no held-out rows were given (none parsed and none skipped). */
  readonly heldout: PreparedSplit | null;
  /** Examples (both splits) cut at Max length. */
  readonly truncated: number;
}

/**
 * Renders and labels both splits with `tok` (the Instruct tokenizer) at `settings.maxLength` and its template options.
 * @param vocabSize the smaller vocab_size of Base and Instruct (ids must fit both)
 * @param onMessage receives the progress lines a run shows ("tokenising N examples…", skips, truncation)
 * @throws Error with {@link refusalOf}'s message when a split has nothing left or too many skipped rows;
 *   TokenizerError for an unusable template or an id outside the vocabulary.
 */
export function tokenizeSplits(tok: ChatTokenizer, vocabSize: number, train: SplitInput, heldout: SplitInput | null, settings: TrainSettings, onMessage: (m: string) => void): TokenizedSplits {
  const kwargs = settings.chatTemplateKwargs ?? {};
  const n = train.conversations.length + (heldout?.conversations.length ?? 0);
  onMessage(`tokenising ${n} examples with the ${tok.name} chat template${Object.keys(kwargs).length ? ` (options ${JSON.stringify(kwargs)})` : ''}`);
  const trainSplit = prepareSplit(tok, train.conversations, train.skipped, settings.maxLength, vocabSize, kwargs);
  const refusal = refusalOf(trainSplit, 'training');
  if (refusal) throw new Error(refusal);
  const hasHeldout = heldout !== null && (heldout.conversations.length > 0 || heldout.skipped.length > 0);
  const heldoutSplit = hasHeldout ? prepareSplit(tok, heldout.conversations, heldout.skipped, settings.maxLength, vocabSize, kwargs) : null;
  const heldoutRefusal = heldoutSplit ? refusalOf(heldoutSplit, 'held-out') : null;
  if (heldoutRefusal) throw new Error(heldoutRefusal);
  for (const [name, sp] of [['training', trainSplit], ['held-out', heldoutSplit]] as const) {
    const first = sp?.skipped[0];
    if (sp && first) onMessage(`${name}: ${sp.examples.length} rows kept, ${sp.skipped.length} skipped (first: ${first.file} row ${first.row}: ${first.reason})`);
  }
  const truncated = trainSplit.examples.filter((e) => e.truncated).length + (heldoutSplit?.examples ?? []).filter((e) => e.truncated).length;
  if (truncated) onMessage(`${truncated} examples are longer than Max length ${settings.maxLength} and were cut`);
  return { train: trainSplit, heldout: heldoutSplit, truncated };
}
