/**
 * The held-out prompts a comparison generates for: each kept held-out conversation up to its last assistant message,
 * rendered with the Instruct chat template and the generation prompt (add_generation_prompt, the same renderer and
 * template options as training), and that assistant message as the reference answer.
 */
import type { Conversation } from '../../io/dataset/types';
import type { ChatTokenizer } from '../../io/tokenizer/load';
import { renderChat, type TemplateKwargs } from '../../io/tokenizer/render';

/** One prompt of the evaluation. */
export interface HeldoutPrompt {
  /** where the row came from, e.g. "story-titles.heldout.alpaca.json item 3" */
  readonly source: string;
  /** the last user message (what the UI shows) */
  readonly userMessage: string;
  /** input_ids of the render up to the generation prompt */
  readonly promptIds: number[];
  /** the reference answer (content of the last assistant message) */
  readonly reference: string;
}

/**
 * The first `n` conversations that end in an assistant message with a user message before it, as prompts.
 * @param keep sources of the conversations training kept (rows the labelling skipped are skipped here too)
 * @throws TokenizerError when the template fails on a kept conversation
 */
export function heldoutPrompts(tok: ChatTokenizer, conversations: readonly Conversation[], keep: ReadonlySet<string>, n: number, kwargs: TemplateKwargs): HeldoutPrompt[] {
  const out: HeldoutPrompt[] = [];
  for (const c of conversations) {
    if (out.length >= n) break;
    if (!keep.has(c.source)) continue;
    const last = c.messages.length - 1;
    const answer = c.messages[last];
    const user = c.messages[last - 1];
    if (!answer || answer.role !== 'assistant' || !user || user.role !== 'user') continue;
    const text = renderChat(tok, c.messages.slice(0, last), true, kwargs);
    out.push({ source: c.source, userMessage: user.content, promptIds: tok.encode(text, false), reference: answer.content });
  }
  return out;
}
