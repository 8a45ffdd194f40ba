/**
 * The training data exactly as a run uses it, shared by the studio (worker) and `shadowft dataset` (CLI): the kept
 * conversations of the ticked files are rendered and labelled (./labels) with the Instruct tokenizer; rows skipped by
 * the parsers and by labelling are reported together; the run refuses only when nothing is left or more than
 * {@link MAX_SKIPPED_FRACTION} of the rows are skipped.
 */
import type { Conversation, SkippedRow } from '../dataset/types';
import type { ChatTokenizer } from './load';
import { tokenizeDataset, type LabelledExample } from './labels';
import type { TemplateKwargs } from './render';

/** A run refuses to start when more than this fraction of the rows of a split is skipped (shown in the UI). */
export const MAX_SKIPPED_FRACTION = 0.5;

/** A split ready for training: examples, every skipped row, and the number of rows read. */
export interface PreparedSplit {
  readonly examples: LabelledExample[];
  readonly skipped: SkippedRow[];
  readonly rows: number;
}

/**
 * Tokenises the conversations of one split.
 * @param parsedSkipped rows the parsers already skipped (reported with the labelling skips)
 * @throws TokenizerError for invalid maxLength/vocabSize, a missing template or ids outside the vocabulary
 */
export function prepareSplit(tok: ChatTokenizer, conversations: readonly Conversation[], parsedSkipped: readonly SkippedRow[], maxLength: number, vocabSize: number, kwargs: TemplateKwargs): PreparedSplit {
  const { examples, skipped } = tokenizeDataset(tok, conversations, maxLength, vocabSize, kwargs);
  return { examples, skipped: [...parsedSkipped, ...skipped], rows: conversations.length + parsedSkipped.length };
}

/**
 * Why a split cannot be trained on, or null when it can: nothing kept, or more than MAX_SKIPPED_FRACTION skipped.
 * Takes SFT splits and preference splits (./pairs preparePairSplit) alike.
 * @param what "training" or "held-out", used in the message
 */
export function refusalOf(split: Pick<PreparedSplit, 'skipped' | 'rows'> & { readonly examples: readonly unknown[] }, what: string): string | null {
  const first = split.skipped[0];
  const example = first ? ` (first: ${first.file} row ${first.row}: ${first.reason})` : '';
  if (split.examples.length === 0) return `No ${what} rows left: all ${split.rows} rows were skipped${example}.`;
  if (split.skipped.length > MAX_SKIPPED_FRACTION * split.rows) {
    return `${split.skipped.length} of ${split.rows} ${what} rows were skipped, more than ${MAX_SKIPPED_FRACTION * 100}%${example}; fix the data or untick the file.`;
  }
  return null;
}
