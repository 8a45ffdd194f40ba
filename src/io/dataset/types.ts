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
