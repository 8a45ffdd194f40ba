/**
 * Conversations → token ids and SFT labels with the Instruct model's chat template. The conversation is rendered
 * ONCE (./spans: the assistant spans as character ranges of that render), the render is tokenised once with
 * add_special_tokens=false (as apply_chat_template does: a template that writes bos_token gets exactly one BOS), and
 * each character span is mapped to tokens. labels = input_ids on the tokens of the spans, -100 (HF IGNORE_INDEX)
 * elsewhere; the shift logits[:, :-1] vs labels[:, 1:] is the engine's job.
 *
 * Character → token mapping: transformers.js exposes no offset mapping, so a seam at character c is located by
 * tokenising the text before it: when ids(text[:c]) is a prefix of ids(text), the seam is the token boundary
 * k = |ids(text[:c])| (the tokens before k spell exactly text[:c]). Otherwise one token straddles the seam (BPE merged
 * characters across it); it is LABELLED (it holds answer characters the model must generate), never dropped, and the
 * example counts it in `straddled`.
 */
import type { Conversation, SkippedRow, TokenizedExample } from '../dataset/types';
import { TokenizerError, type ChatTokenizer } from './load';
import { chatTemplateOf, type TemplateKwargs } from './render';
import { assistantSpans, RowSkip } from './spans';

/** Label value excluded from the loss (torch CrossEntropyLoss ignore_index, HF IGNORE_INDEX). */
export const IGNORE_INDEX = -100;

/** Token index where character `c` of `text` falls, and whether it is an exact token boundary. */
function tokenAt(tok: ChatTokenizer, text: string, ids: readonly number[], c: number): { k: number; exact: boolean } {
  if (c <= 0) return { k: 0, exact: true };
  if (c >= text.length) return { k: ids.length, exact: true };
  const head = tok.encode(text.slice(0, c), false);
  let k = 0;
  while (k < head.length && head[k] === ids[k]) k++;
  return { k, exact: k === head.length };
}

/** A tokenised example plus what the studio reports about it. */
export interface LabelledExample extends TokenizedExample {
  /** The full render (text that was tokenised). */
  readonly text: string;
  /** [start, end) token ranges that are labelled (before truncation). */
  readonly tokenSpans: readonly (readonly [number, number])[];
  /** Character ranges of the render that the spans came from. */
  readonly charSpans: readonly { readonly start: number; readonly end: number }[];
  /** Tokens before truncation. */
  readonly fullLength: number;
  /** Seams that fell inside a token (that token is labelled). */
  readonly straddled: number;
}

/**
 * Tokenises one conversation and builds its labels, truncated to maxLength tokens (truncated = true when cut).
 * @param vocabSize V of the model the ids are fed to; every kept id must be < V
 * @param kwargs template options (e.g. {enable_thinking: false})
 * @throws TokenizerError naming conv.source when an id is ≥ vocabSize; RowSkip (message starts with conv.source)
 *   when the template fails on this conversation, or the assistant spans cannot be located or render to no tokens
 */
export function tokenizeConversation(tok: ChatTokenizer, conv: Conversation, maxLength: number, vocabSize: number, kwargs: TemplateKwargs = {}): LabelledExample {
  let rendered;
  try {
    rendered = assistantSpans(tok, conv.messages, kwargs);
  } catch (e) {
    // A template that raises for this conversation (e.g. Gemma's "roles must alternate") skips this row only.
    throw new RowSkip(`${conv.source}: ${(e as Error).message}`);
  }
  const { text, spans } = rendered;
  const full = tok.encode(text, false);
  const labels = new Int32Array(full.length).fill(IGNORE_INDEX);
  const tokenSpans: [number, number][] = [];
  let straddled = 0;
  for (const s of spans) {
    const a = tokenAt(tok, text, full, s.start);
    const b = tokenAt(tok, text, full, s.end);
    if (!a.exact) straddled++;
    if (!b.exact) straddled++;
    const end = Math.min(full.length, b.exact ? b.k : b.k + 1);
    if (end <= a.k) throw new RowSkip(`${conv.source}: an assistant span renders to no tokens`);
    tokenSpans.push([a.k, end]);
    for (let t = a.k; t < end; t++) labels[t] = full[t] as number;
  }
  if (tokenSpans.length === 0) throw new RowSkip(`${conv.source}: the chat template marks no assistant tokens`);
  const len = Math.min(full.length, maxLength);
  const inputIds = Int32Array.from(full.slice(0, len));
  for (let t = 0; t < len; t++) {
    const id = inputIds[t] as number;
    if (id < 0 || id >= vocabSize) throw new TokenizerError(`${conv.source}: token id ${id} at position ${t} is outside the model's vocabulary (vocab_size ${vocabSize})`);
  }
  return {
    inputIds, labels: labels.slice(0, len), truncated: full.length > maxLength, source: conv.source,
    text, tokenSpans, charSpans: spans, fullLength: full.length, straddled,
  };
}

/** The examples that were tokenised and the rows that were skipped (with the reason). */
export interface TokenizedDataset {
  readonly examples: LabelledExample[];
  readonly skipped: SkippedRow[];
}

/**
 * Tokenises every conversation ({@link tokenizeConversation}), in order. A row whose spans cannot be located is
 * skipped and reported (file, 1-based row, reason); the rest are kept.
 * @param maxLength T_max in tokens (integer ≥ 2); longer examples are cut and flagged `truncated`
 * @param vocabSize V of the model (use the smaller one when Base and Instruct differ)
 * @throws TokenizerError for invalid maxLength/vocabSize or an id outside the vocabulary
 */
export function tokenizeDataset(tok: ChatTokenizer, conversations: readonly Conversation[], maxLength: number, vocabSize: number, kwargs: TemplateKwargs = {}): TokenizedDataset {
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new TokenizerError(`max length must be an integer ≥ 2, got ${maxLength}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new TokenizerError(`vocab size must be a positive integer, got ${vocabSize}`);
  chatTemplateOf(tok); // no template at all is the model's problem, not a row's: throw before the loop
  const examples: LabelledExample[] = [];
  const skipped: SkippedRow[] = [];
  for (const c of conversations) {
    try {
      examples.push(tokenizeConversation(tok, c, maxLength, vocabSize, kwargs));
    } catch (e) {
      if (!(e instanceof RowSkip)) throw e;
      skipped.push({ file: c.file ?? c.source, row: c.row ?? 0, reason: e.message.startsWith(`${c.source}: `) ? e.message.slice(c.source.length + 2) : e.message });
    }
  }
  return { examples, skipped };
}
