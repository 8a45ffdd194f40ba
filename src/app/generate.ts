/**
 * Use case: answer one user message with a model — the message rendered with the model's chat template and
 * add_generation_prompt (io/tokenizer/render.ts renderChat, fixed dates), encoded without extra special tokens (the
 * template writes them, as apply_chat_template does), generated with our engine (engine/generate), decoded without
 * special tokens. The CLI `generate` command, the Try it panel and the compare use case share it.
 */
import type { ChatTokenizer } from '../io/tokenizer/load';
import { renderChat, type TemplateKwargs } from '../io/tokenizer/render';
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
}

/** The prompt ids of one user message: chat template + generation prompt, encoded without added specials. */
export function replyPromptIds(tok: ChatTokenizer, userMessage: string, templateKwargs: TemplateKwargs = {}): number[] {
  return tok.encode(renderChat(tok, [{ role: 'user', content: userMessage }], true, templateKwargs), false);
}

/**
 * Renders the user message with the model's chat template + add_generation_prompt (io/tokenizer/render.ts
 * renderChat, fixed dates), encodes, generates, decodes.
 * @throws TokenizerError when the tokenizer has no chat template or it raises; GenerateError (engine/generate) for a
 *   prompt that does not fit the generator or bad settings.
 */
export async function generateReply(tok: ChatTokenizer, gen: Generator, userMessage: string, settings: GenerateSettings, opts: ReplyOptions = {}): Promise<{ promptIds: number[]; newIds: number[]; text: string; stopped: boolean; aborted?: boolean; tokensPerSec: number }> {
  const promptIds = replyPromptIds(tok, userMessage, opts.templateKwargs);
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
