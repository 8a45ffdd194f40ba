/**
 * Deterministic chat rendering for training: the Instruct model's chat template rendered with transformers.js
 * (`apply_chat_template(tokenize=false)`, the Jinja of @huggingface/jinja with trim_blocks + lstrip_blocks like HF),
 * a fixed `date_string` and a fixed `strftime_now`, and the user's template options (e.g. `enable_thinking` for Qwen3).
 *
 * Why fixed dates: Llama 3.x templates print "Today Date: {{ date_string }}" (or `strftime_now("%d %b %Y")`), so the
 * training text would otherwise depend on the day the run happens. transformers' own default for `date_string` in
 * those templates is "26 Jul 2024"; we use that date for both.
 */
import type { ChatMessage } from '../dataset/types';
import { TokenizerError, type ChatTokenizer } from './load';

/** Value of `date_string` passed to every template ("26 Jul 2024", the default of the Llama 3.1 template). */
export const FIXED_DATE_STRING = '26 Jul 2024';

/** The instant `strftime_now` formats: 2024-07-26T00:00:00Z (the same day as {@link FIXED_DATE_STRING}). */
export const FIXED_NOW = new Date(Date.UTC(2024, 6, 26, 0, 0, 0));

/** Template options the user may set (chat_template_kwargs of transformers / vLLM). JSON scalars only. */
export type TemplateKwargs = Readonly<Record<string, string | number | boolean | null>>;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/**
 * Python `datetime.strftime` of {@link FIXED_NOW} in UTC with the C locale (English names), for the directives
 * templates use: %Y %y %m %d %e %b %B %a %A %H %I %M %S %p %j %%. Other directives are left as written.
 */
export function fixedStrftime(format: string): string {
  const d = FIXED_NOW;
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  const dayOfYear = Math.floor((d.getTime() - start) / 86_400_000) + 1;
  const h = d.getUTCHours();
  const map: Record<string, string> = {
    Y: String(d.getUTCFullYear()), y: pad(d.getUTCFullYear() % 100), m: pad(d.getUTCMonth() + 1), d: pad(d.getUTCDate()),
    e: String(d.getUTCDate()).padStart(2, ' '), b: (MONTHS[d.getUTCMonth()] as string).slice(0, 3), B: MONTHS[d.getUTCMonth()] as string,
    a: (DAYS[d.getUTCDay()] as string).slice(0, 3), A: DAYS[d.getUTCDay()] as string, H: pad(h), I: pad(h % 12 === 0 ? 12 : h % 12),
    M: pad(d.getUTCMinutes()), S: pad(d.getUTCSeconds()), p: h < 12 ? 'AM' : 'PM', j: pad(dayOfYear, 3), '%': '%',
  };
  return format.replace(/%(.)/g, (all, c: string) => map[c] ?? all);
}

/**
 * Parses the user's template options (a JSON object of scalars, e.g. `{"enable_thinking": false}`).
 * @throws TokenizerError naming the offending key when the text is not a JSON object of strings/numbers/booleans/null
 */
export function parseTemplateKwargs(json: string): TemplateKwargs {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    throw new TokenizerError(`template options: not valid JSON (${(e as Error).message}); expected an object such as {"enable_thinking": false}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TokenizerError('template options: expected a JSON object such as {"enable_thinking": false}');
  for (const [k, x] of Object.entries(v)) {
    if (x !== null && !['string', 'number', 'boolean'].includes(typeof x)) throw new TokenizerError(`template options: "${k}" must be a string, number, boolean or null`);
    if (RESERVED.has(k)) throw new TokenizerError(`template options: "${k}" is set by the studio and cannot be overridden`);
  }
  return v as TemplateKwargs;
}

/** The name the template's `strftime_now` calls are renamed to (see renderChat). */
const FIXED_STRFTIME_NAME = 'shadowft_fixed_strftime_now';

/** Variables the renderer sets itself. */
const RESERVED = new Set(['messages', 'add_generation_prompt', 'tools', 'documents', 'date_string', 'strftime_now', FIXED_STRFTIME_NAME, 'chat_template', 'tokenize']);

/**
 * The chat template string transformers.js would use (a list of named templates picks "default").
 * @throws TokenizerError when the tokenizer has no chat template
 */
export function chatTemplateOf(tok: ChatTokenizer): string {
  if (!tok.hasChatTemplate) throw new TokenizerError(`${tok.name} has no chat template (tokenizer_config.json "chat_template" or chat_template.jinja); the Instruct model's template is needed`);
  try {
    return tok.hf.get_chat_template();
  } catch (e) {
    throw new TokenizerError(`${tok.name}: ${(e as Error).message}`);
  }
}

/** Names of the template options a template reads that users commonly set (shown in the UI): today `enable_thinking`. */
export function templateOptionsOf(template: string): string[] {
  return ['enable_thinking'].filter((k) => new RegExp(`\\b${k}\\b`).test(template));
}

/**
 * Renders messages with `template` (default: the tokenizer's), add_generation_prompt, the fixed dates and kwargs.
 * @throws TokenizerError naming the model when the template raises (e.g. an unknown role)
 */
export function renderChat(tok: ChatTokenizer, messages: readonly ChatMessage[], addGenerationPrompt: boolean, kwargs: TemplateKwargs = {}, template?: string): string {
  // transformers.js declares a global strftime_now (today's date) that a render variable cannot shadow, so the
  // template's calls are pointed at our fixed one under another name.
  const chatTemplate = (template ?? chatTemplateOf(tok)).replace(/\bstrftime_now\b/g, FIXED_STRFTIME_NAME);
  try {
    // Extra keys are template variables (transformers.js passes `...kwargs` to the render); its option type lists none.
    const options: Record<string, unknown> = {
      ...kwargs,
      tokenize: false,
      add_generation_prompt: addGenerationPrompt,
      chat_template: chatTemplate,
      date_string: FIXED_DATE_STRING,
      [FIXED_STRFTIME_NAME]: fixedStrftime,
    };
    return tok.hf.apply_chat_template(messages.map((m) => ({ role: m.role, content: m.content })), options as { tokenize: false }) as string;
  } catch (e) {
    throw new TokenizerError(`${tok.name}: the chat template failed: ${(e as Error).message}`);
  }
}
