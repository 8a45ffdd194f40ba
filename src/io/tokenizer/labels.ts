/**
 * Conversations → token ids and SFT labels with the Instruct model's chat template. labels = input_ids on the tokens
 * of each assistant turn (the answer and whatever the template emits after it up to the next turn, e.g. the eos:
 * " <answer></s>" for stories260K, shared/models/README.md "SFT loss masks"), -100 elsewhere (HF IGNORE_INDEX).
 * The shift logits[:, :-1] vs labels[:, 1:] is the engine's job.
 *
 * Assistant spans are found by rendering prefixes, not by searching text: for assistant message i,
 *   P_i = ids(render(messages[:i], add_generation_prompt=true)),  A_i = ids(render(messages[:i+1]))
 * and the span is [|P_i|, |A_i|). This requires the prefix property P_i ⊑ A_i ⊑ ids(render(messages)) (token-wise);
 * templates that break it (e.g. ones that render earlier turns differently once later turns exist) are refused.
 * Rendered text is tokenised with add_special_tokens=false, as apply_chat_template does.
 */
import type { Conversation, TokenizedExample } from '../dataset/types';
import { TokenizerError, type ChatTokenizer } from './load';

/** Label value excluded from the loss (torch CrossEntropyLoss ignore_index, HF IGNORE_INDEX). */
export const IGNORE_INDEX = -100;

/** First position k < |a| where a[k] ≠ b[k] (b[k] missing counts as different), or -1 when a is a prefix of b. */
function mismatchAt(a: readonly number[], b: readonly number[]): number {
  return a.findIndex((v, k) => v !== b[k]);
}

/**
 * Tokenises one conversation and builds its labels, truncated to maxLength tokens (truncated = true when cut).
 * @param vocabSize V of the model the ids are fed to; every kept id must be < V
 * @throws TokenizerError naming conv.source when the template fails or breaks the prefix property, an answer renders
 *   to no tokens, or an id is ≥ vocabSize
 */
export function tokenizeConversation(tok: ChatTokenizer, conv: Conversation, maxLength: number, vocabSize: number): TokenizedExample {
  const render = (n: number, gen: boolean): number[] => {
    try {
      return tok.encode(tok.render(conv.messages.slice(0, n), gen), false);
    } catch (e) {
      throw new TokenizerError(`${conv.source}: ${(e as Error).message}`);
    }
  };
  const n = conv.messages.length;
  const full = render(n, false);
  const labels = new Int32Array(full.length).fill(IGNORE_INDEX);
  conv.messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const prompt = render(i, true);
    const through = i === n - 1 ? full : render(i + 1, false);
    const broken = (what: string, at: number): TokenizerError =>
      new TokenizerError(`${conv.source}: the chat template of ${tok.name} breaks the prefix property (${what} differ at token ${at}), so the tokens of assistant message ${i + 1} cannot be located`);
    let at = mismatchAt(prompt, through);
    if (at >= 0) throw broken('the prompt with add_generation_prompt and the conversation up to the answer', at);
    at = mismatchAt(through, full);
    if (at >= 0) throw broken('the conversation up to the answer and the whole conversation', at);
    if (through.length === prompt.length) throw new TokenizerError(`${conv.source}: assistant message ${i + 1} renders to no tokens with the chat template of ${tok.name}`);
    for (let t = prompt.length; t < through.length; t++) labels[t] = full[t] as number;
  });
  const len = Math.min(full.length, maxLength);
  const inputIds = Int32Array.from(full.slice(0, len));
  for (let t = 0; t < len; t++) {
    const id = inputIds[t] as number;
    if (id < 0 || id >= vocabSize) throw new TokenizerError(`${conv.source}: token id ${id} at position ${t} is outside the model's vocabulary (vocab_size ${vocabSize})`);
  }
  return { inputIds, labels: labels.slice(0, len), truncated: full.length > maxLength, source: conv.source };
}

/**
 * Tokenises every conversation ({@link tokenizeConversation}), in order.
 * @param maxLength T_max in tokens (positive integer); longer examples are cut and flagged `truncated`
 * @param vocabSize V of the model (use the smaller one when Base and Instruct differ)
 * @throws TokenizerError for invalid maxLength/vocabSize or the first failing conversation (naming its source)
 */
export function tokenizeDataset(tok: ChatTokenizer, conversations: readonly Conversation[], maxLength: number, vocabSize: number): TokenizedExample[] {
  if (!Number.isInteger(maxLength) || maxLength < 2) throw new TokenizerError(`max length must be an integer ≥ 2, got ${maxLength}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new TokenizerError(`vocab size must be a positive integer, got ${vocabSize}`);
  return conversations.map((c) => tokenizeConversation(tok, c, maxLength, vocabSize));
}
