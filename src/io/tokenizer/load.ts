/**
 * Builds the tokenizer of a model folder offline, from the dropped tokenizer.json + tokenizer_config.json
 * (and chat_template.jinja / chat_template.json when tokenizer_config.json has no chat_template), with
 * transformers.js 4.3.2: the same `new cls(tokenizerJSON, tokenizerConfig)` that AutoTokenizer.from_pretrained does
 * after fetching the two files (src/models/auto/tokenization_auto.js), so no hub, cache or network is involved and
 * it runs in a browser Worker and in Node alike.
 */
import { CodeLlamaTokenizer, env, GemmaTokenizer, GPT2Tokenizer, LlamaTokenizer, PreTrainedTokenizer, Qwen2Tokenizer } from '@huggingface/transformers';
import type { ModelFiles } from '../checkpoint';
import type { ChatMessage } from '../dataset/types';
import { selectChatTemplate, type ChatTemplateChoice, type ChatTemplateSource } from './template';

// Nothing leaves the machine: transformers.js may never fetch a model or tokenizer, from the Hub or from our origin.
env.allowRemoteModels = false;
env.allowLocalModels = false;

/** A tokenizer file is missing or malformed, or the chat template cannot be rendered. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/**
 * tokenizer_class (with "Fast" removed, as AutoTokenizer does) → transformers.js class, for the families the studio
 * trains (Llama/Mistral: LlamaTokenizer, Llama 3: PreTrainedTokenizerFast, Qwen: Qwen2Tokenizer, SmolLM: GPT2Tokenizer).
 * Any other name falls back to PreTrainedTokenizer, like AutoTokenizer; in 4.3.2 these subclasses differ from the base
 * class only in padding_side, which this module does not use (makeBatches pads on the right itself).
 */
const CLASSES: ReadonlyMap<string, typeof PreTrainedTokenizer> = new Map([
  ['LlamaTokenizer', LlamaTokenizer],
  ['CodeLlamaTokenizer', CodeLlamaTokenizer],
  ['Qwen2Tokenizer', Qwen2Tokenizer],
  ['GPT2Tokenizer', GPT2Tokenizer],
  ['GemmaTokenizer', GemmaTokenizer],
  ['PreTrainedTokenizer', PreTrainedTokenizer],
]);

/** Special-token members of tokenizer_config.json that transformers.js reads (getTokenFromConfig). */
const TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'mask_token', 'cls_token'];

/** A tokenizer plus the chat rendering the trainer needs. */
export class ChatTokenizer {
  /**
   * @param name model name used in messages (e.g. "stories260K-instruct")
   * @param hf the transformers.js tokenizer
   */
  constructor(
    readonly name: string,
    readonly hf: PreTrainedTokenizer,
    /** The file the chat template came from (./template.ts precedence), or null without a template. */
    readonly templateSource: ChatTemplateSource | null = null,
  ) {}

  /** Padding id: tokenizer pad_token_id, else eos_token_id, else 0 (transformers.js already falls back to eos). */
  get padTokenId(): number {
    const pad: unknown = this.hf.pad_token_id;
    const eos: unknown = this.hf.eos_token_id;
    return typeof pad === 'number' ? pad : typeof eos === 'number' ? eos : 0;
  }

  /** eos_token_id of the tokenizer config, or null. */
  get eosTokenId(): number | null {
    const eos: unknown = this.hf.eos_token_id;
    return typeof eos === 'number' ? eos : null;
  }

  /** True when a chat template is available. */
  get hasChatTemplate(): boolean {
    return this.hf.chat_template !== null && this.hf.chat_template !== undefined;
  }

  /**
   * Renders messages with the chat template (apply_chat_template(tokenize=false)) as transformers.js does, with its
   * own date for templates that print one. Training, the preview and `shadowft dataset` render with renderChat
   * (render.ts) instead, which fixes date_string / strftime_now and passes the template options.
   * @throws TokenizerError naming the model when there is no template or the template raises (e.g. unknown role)
   */
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
    if (!this.hasChatTemplate) throw new TokenizerError(`${this.name} has no chat template (tokenizer_config.json "chat_template" or chat_template.jinja); the Instruct model's template is needed`);
    try {
      return this.hf.apply_chat_template(messages.map((m) => ({ role: m.role, content: m.content })), { tokenize: false, add_generation_prompt: addGenerationPrompt });
    } catch (e) {
      throw new TokenizerError(`${this.name}: the chat template failed: ${(e as Error).message}`);
    }
  }

  /** Token ids of text; `addSpecialTokens` false for rendered chats (apply_chat_template does the same). */
  encode(text: string, addSpecialTokens: boolean): number[] {
    return this.hf.encode(text, { add_special_tokens: addSpecialTokens });
  }

  /** Text of token ids (special tokens kept unless skipSpecialTokens). Empty string for no ids. */
  decode(ids: ArrayLike<number>, skipSpecialTokens = false): string {
    if (ids.length === 0) return '';
    return this.hf.decode(Array.from(ids), { skip_special_tokens: skipSpecialTokens });
  }
}

async function readJsonObject(blob: Blob, label: string): Promise<Record<string, unknown>> {
  let v: unknown;
  try {
    v = JSON.parse(await blob.text());
  } catch (e) {
    throw new TokenizerError(`${label}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TokenizerError(`${label}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * Builds a ChatTokenizer from parsed JSON (tokenizer.json, tokenizer_config.json) and an optional chat template:
 * a string replaces a missing tokenizer_config "chat_template"; a {@link ChatTemplateChoice} (from
 * selectChatTemplate) is used as is, whatever the config holds. Special tokens written as objects without
 * "__type": "AddedToken" are reduced to their content (transformers.js only accepts AddedToken objects).
 * @throws TokenizerError naming `name` when tokenizer.json has no "model" or the tokenizer cannot be constructed
 */
export function chatTokenizerFromJson(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>, name: string, chatTemplate?: string | ChatTemplateChoice | null): ChatTokenizer {
  if (typeof tokenizerJson['model'] !== 'object' || tokenizerJson['model'] === null) throw new TokenizerError(`${name}/tokenizer.json: no "model" member (is this a Hugging Face tokenizers file?)`);
  const config: Record<string, unknown> = { ...tokenizerConfig };
  for (const key of TOKEN_KEYS) {
    const t = config[key];
    if (typeof t === 'object' && t !== null && (t as { __type?: unknown }).__type !== 'AddedToken') {
      const content = (t as { content?: unknown }).content;
      if (typeof content !== 'string') throw new TokenizerError(`${name}/tokenizer_config.json: field "${key}" must be a string or {"content": string}`);
      config[key] = content;
    }
  }
  let source: ChatTemplateSource | null = null;
  if (typeof chatTemplate === 'object' && chatTemplate !== null) {
    config['chat_template'] = chatTemplate.template;
    source = chatTemplate.source;
  } else if (chatTemplate === null) delete config['chat_template'];
  else if ((config['chat_template'] === undefined || config['chat_template'] === null) && chatTemplate !== undefined) config['chat_template'] = chatTemplate;
  if (source === null && config['chat_template'] !== undefined && config['chat_template'] !== null) source = 'tokenizer_config.json';
  const className = typeof config['tokenizer_class'] === 'string' ? config['tokenizer_class'].replace(/Fast$/, '') : 'PreTrainedTokenizer';
  const cls = CLASSES.get(className) ?? PreTrainedTokenizer;
  try {
    return new ChatTokenizer(name, new cls(tokenizerJson, config), source);
  } catch (e) {
    throw new TokenizerError(`${name}: cannot build the tokenizer from tokenizer.json and tokenizer_config.json: ${(e as Error).message}`);
  }
}

/**
 * Loads the tokenizer of a model folder (tokenizer.json + tokenizer_config.json) with the chat template chosen as
 * transformers does (./template.ts: chat_template.jinja, then chat_template.json, then tokenizer_config.json's
 * "chat_template", a named list giving "default").
 * @throws TokenizerError naming the folder and file when a file is missing or malformed
 */
export async function loadChatTokenizer(model: ModelFiles): Promise<ChatTokenizer> {
  const get = (f: string): Blob => {
    const b = model.files.get(f);
    if (!b) throw new TokenizerError(`${model.name}: ${f} is missing; the tokenizer needs tokenizer.json and tokenizer_config.json`);
    return b;
  };
  const tokenizerJson = await readJsonObject(get('tokenizer.json'), `${model.name}/tokenizer.json`);
  const tokenizerConfig = await readJsonObject(get('tokenizer_config.json'), `${model.name}/tokenizer_config.json`);
  const choice = await selectChatTemplate(model.files, model.name, tokenizerConfig);
  return chatTokenizerFromJson(tokenizerJson, tokenizerConfig, model.name, choice);
}
