/**
 * Which chat template a model folder uses, with transformers' precedence (≥ 4.43,
 * `PreTrainedTokenizerBase._from_pretrained`: "If independent chat template file(s) exist, they take priority over
 * template entries in the tokenizer config"):
 *   1. `chat_template.jinja` (the file's text, as the "default" template);
 *   2. `chat_template.json` `{"chat_template": str}` (the older standalone file);
 *   3. `tokenizer_config.json` "chat_template": a string, or a list of named templates `[{name, template}]` (or a
 *      name → template map) of which "default" is used (`get_chat_template` with no name given).
 * Only the file-level choice lives here; rendering is src/io/tokenizer (transformers.js Jinja).
 */
import { TokenizerError } from './load';

/** Where the template came from. */
export type ChatTemplateSource = 'chat_template.jinja' | 'chat_template.json' | 'tokenizer_config.json';

/** The chosen template. */
export interface ChatTemplateChoice {
  readonly template: string;
  readonly source: ChatTemplateSource;
  /** The named template picked from a list ("default"), or null for a plain string. */
  readonly name: string | null;
}

/**
 * Resolves a tokenizer_config.json "chat_template" value.
 * @returns the template string, or null when the value is absent/null/empty.
 * @throws TokenizerError naming `label` when a list has no "default" (listing the names) or has a malformed entry.
 */
export function pickNamedTemplate(value: unknown, label: string): { template: string; name: string | null } | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string') return { template: value, name: null };
  let entries: [string, unknown][];
  if (Array.isArray(value)) {
    entries = value.map((e, i) => {
      const name = (e as { name?: unknown } | null)?.name;
      if (typeof name !== 'string') throw new TokenizerError(`${label}: chat_template[${i}] must be {"name": string, "template": string}`);
      return [name, (e as { template?: unknown }).template];
    });
  } else if (typeof value === 'object') entries = Object.entries(value as Record<string, unknown>);
  else throw new TokenizerError(`${label}: "chat_template" must be a string or a list of {"name", "template"}`);
  if (entries.length === 0) return null;
  const def = entries.find(([n]) => n === 'default');
  if (!def) throw new TokenizerError(`${label}: several chat templates and none named "default" (names: ${entries.map(([n]) => n).join(', ')}); transformers would need one to be named`);
  if (typeof def[1] !== 'string') throw new TokenizerError(`${label}: the "default" chat template must be a string`);
  return { template: def[1], name: 'default' };
}

/**
 * Chooses the chat template of a model folder (see the file comment for the order).
 * @param files the folder's files by name; @param modelName for messages.
 * @param tokenizerConfig the parsed tokenizer_config.json when the caller already has it (else it is read if present).
 * @returns the choice, or null when the folder has no template.
 * @throws TokenizerError naming the file when chat_template.json / tokenizer_config.json is malformed.
 */
export async function selectChatTemplate(files: ReadonlyMap<string, Blob>, modelName: string, tokenizerConfig?: Record<string, unknown>): Promise<ChatTemplateChoice | null> {
  const jinja = files.get('chat_template.jinja');
  if (jinja) return { template: await jinja.text(), source: 'chat_template.jinja', name: null };
  const json = files.get('chat_template.json');
  if (json) {
    let t: unknown;
    try {
      t = (JSON.parse(await json.text()) as { chat_template?: unknown } | null)?.chat_template;
    } catch (e) {
      throw new TokenizerError(`${modelName}/chat_template.json: not valid JSON (${(e as Error).message})`);
    }
    const p = pickNamedTemplate(t, `${modelName}/chat_template.json`);
    if (p) return { ...p, source: 'chat_template.json' };
  }
  let cfg = tokenizerConfig;
  if (!cfg) {
    const blob = files.get('tokenizer_config.json');
    if (!blob) return null;
    try {
      cfg = JSON.parse(await blob.text()) as Record<string, unknown>;
    } catch (e) {
      throw new TokenizerError(`${modelName}/tokenizer_config.json: not valid JSON (${(e as Error).message})`);
    }
  }
  const p = pickNamedTemplate(cfg?.['chat_template'], `${modelName}/tokenizer_config.json`);
  return p ? { ...p, source: 'tokenizer_config.json' } : null;
}
