/**
 * Dataset types shared by parsing (src/io/dataset), tokenisation and training.
 */

/** A chat message in the OpenAI/HF `messages` form. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** One training example: a conversation, with where it came from for error messages. */
export interface Conversation {
  readonly messages: readonly ChatMessage[];
  /** e.g. "story-titles.train.csv row 12" */
  readonly source: string;
  /** The dataset file (path in the drop) the row came from. */
  readonly file?: string;
  /** 1-based row of the file: CSV row after the header, JSON array item, JSON Lines line, Parquet row. */
  readonly row?: number;
}

/** What a dataset file trains: SFT conversations, or preference pairs (chosen/rejected answers to one prompt). */
export type DatasetKind = 'sft' | 'preference';

/**
 * One preference pair (LLaMA-Factory `ranking: true` data, TRL preference datasets): a prompt and two answers to it.
 * Training renders `[...prompt, {assistant: chosen}]` and `[...prompt, {assistant: rejected}]` with the chat template,
 * each ONCE, and labels only the final answer (LLaMA-Factory PairwiseDatasetProcessor encodes the history into the
 * prompt; TRL labels only the completion).
 */
export interface PreferencePair {
  /** [system?] user (assistant user)*: ends with the user turn both answers reply to. */
  readonly prompt: readonly ChatMessage[];
  /** The preferred answer (non-empty). */
  readonly chosen: string;
  /** The dispreferred answer (non-empty, different from chosen). */
  readonly rejected: string;
  /** e.g. "story-titles-pref.train.trl.jsonl line 3" */
  readonly source: string;
  readonly file?: string;
  /** 1-based row, counted as {@link Conversation.row}. */
  readonly row?: number;
}

/** A row that was left out of training, and why (shown in the UI and printed by `shadowft dataset`). */
export interface SkippedRow {
  readonly file: string;
  /** 1-based, counted as {@link Conversation.row}. */
  readonly row: number;
  readonly reason: string;
}

/**
 * A tokenised example. input_ids and labels have the same length T_i ≤ max length;
 * labels are the input_ids on assistant tokens (answer + eos) and -100 elsewhere (HF convention;
 * the loss shift logits[:, :-1] vs labels[:, 1:] happens in the engine).
 */
export interface TokenizedExample {
  readonly inputIds: Int32Array;
  readonly labels: Int32Array;
  /** True when the example was cut at max length. */
  readonly truncated: boolean;
  readonly source: string;
}

/**
 * A right-padded micro-batch, row-major [B, T] int32.
 * Padding positions have input_ids = padTokenId and labels = -100.
 */
export interface Batch {
  /** B */
  readonly batchSize: number;
  /** T */
  readonly seqLen: number;
  readonly inputIds: Int32Array;
  readonly labels: Int32Array;
  /** Count of labels ≠ -100 after the shift (positions 1..T-1), i.e. HF num_items_in_batch. */
  readonly numItems: number;
}

/**
 * A right-padded micro-batch of P preference pairs: B = 2P rows, rows 0..P-1 the chosen sequences and rows P..2P-1
 * the rejected ones in the same pair order (LLaMA-Factory PairwiseDataCollatorWithPadding / TRL concatenated_forward:
 * chosen first, then rejected, so `logps.split(P)` gives chosen and rejected). Padding as {@link Batch}.
 */
export interface PreferenceBatch extends Batch {
  /** P (B = 2P). */
  readonly pairs: number;
  /**
   * Labelled positions per row after the shift (labels[1..T-1] ≠ -100), Int32 [2P]: LLaMA-Factory's `valid_length`,
   * the divisor of the length-normalised losses (ipo, orpo, simpo) and of the pref_ftx SFT term.
   */
  readonly labelCounts: Int32Array;
  /** Source of each pair ("file line N"), [P]. */
  readonly sources: readonly string[];
  /** Index of each pair in the list given to makePreferenceBatches, [P] (keys the per-pair reference log-probs). */
  readonly pairIndex?: Int32Array;
}
