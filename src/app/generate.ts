/**
 * Use case: answer one user message with a model — the message rendered with the model's chat template and
 * add_generation_prompt (io/tokenizer/render.ts renderChat, fixed dates), encoded without extra special tokens (the
 * template writes them, as apply_chat_template does), generated with our engine (engine/generate), decoded without
 * special tokens. The CLI `generate` command, the Try it panel and the compare use case share it.
 */
import type { ChatTokenizer } from '../io/tokenizer/load';
import { renderChat, type TemplateKwargs } from '../io/tokenizer/render';
import type { ChatMessage } from '../io/dataset/types';
import type { GenerateOptions, GenerateSettings, Generator } from '../engine/generate/generate';

/** What {@link generateReply} returns. */
export interface GeneratedReply {
  /** the rendered and encoded prompt */
  readonly promptIds: number[];
  /** new ids without the stop token */
  readonly newIds: number[];
  /** newIds decoded, special tokens skipped */
  readonly text: string;
  readonly stopped: boolean;
  /** true when opts.signal aborted the generation (newIds / text hold what came before) */
  readonly aborted?: boolean;
  readonly tokensPerSec: number;
}

/** Template options for {@link generateReply} (e.g. {"enable_thinking": false} for Qwen3). */
export interface ReplyOptions extends GenerateOptions {
  readonly templateKwargs?: TemplateKwargs;
  /** the system prompt and earlier turns of a multi-turn chat (default: none) */
  readonly chat?: ChatContext;
}

/** One earlier exchange of a chat: the user's message and the model's answer to it. */
export interface ChatTurn {
  readonly user: string;
  readonly assistant: string;
}

/** What came before the new user message: an optional system prompt and earlier turns (oldest first). */
export interface ChatContext {
  /** the system message; absent or blank = none (the template's own default, if it has one) */
  readonly system?: string;
  readonly turns?: readonly ChatTurn[];
}

/** The messages of a chat: system (when not blank), each turn's user and assistant messages, then `userMessage`. */
export function chatMessages(userMessage: string, chat: ChatContext = {}): ChatMessage[] {
  const out: ChatMessage[] = chat.system?.trim() ? [{ role: 'system', content: chat.system }] : [];
  for (const t of chat.turns ?? []) out.push({ role: 'user', content: t.user }, { role: 'assistant', content: t.assistant });
  out.push({ role: 'user', content: userMessage });
  return out;
}

/**
 * The prompt ids of a user message after `chat` (system prompt, earlier turns): the chat template with the
 * generation prompt (transformers apply_chat_template(messages, add_generation_prompt=True)), encoded without added
 * specials.
 * @throws TokenizerError when the template raises (e.g. a template that refuses a system message names the model)
 */
export function replyPromptIds(tok: ChatTokenizer, userMessage: string, templateKwargs: TemplateKwargs = {}, chat: ChatContext = {}): number[] {
  return tok.encode(renderChat(tok, chatMessages(userMessage, chat), true, templateKwargs), false);
}

/**
 * Renders the user message (after opts.chat's system prompt and turns) with the model's chat template + add_generation_prompt (io/tokenizer/render.ts
 * renderChat, fixed dates), encodes, generates, decodes.
 * @throws TokenizerError when the tokenizer has no chat template or it raises; GenerateError (engine/generate) for a
 *   prompt that does not fit the generator or bad settings.
 */
export async function generateReply(tok: ChatTokenizer, gen: Generator, userMessage: string, settings: GenerateSettings, opts: ReplyOptions = {}): Promise<{ promptIds: number[]; newIds: number[]; text: string; stopped: boolean; aborted?: boolean; tokensPerSec: number }> {
  const promptIds = replyPromptIds(tok, userMessage, opts.templateKwargs, opts.chat);
  const r = await gen.generate(promptIds, settings, opts);
  const out: GeneratedReply = {
    promptIds,
    newIds: r.newIds,
    text: tok.decode(r.newIds, true),
    stopped: r.stopped,
    ...(r.aborted ? { aborted: true } : {}),
    tokensPerSec: r.tokensPerSec,
  };
  return out;
}
