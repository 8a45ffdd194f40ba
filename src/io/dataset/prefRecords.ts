/**
 * Conversion of one preference record into a {@link PreferencePair}, read as LLaMA-Factory and TRL read it:
 * - LLaMA-Factory alpaca ranking (AlpacaDatasetConverter with `ranking`): {instruction, input?, chosen, rejected,
 *   system?, history?}; the prompt is built exactly as for SFT (./records alpacaToMessages: history pairs, then the
 *   non-empty of instruction and input joined by "\n"); chosen and rejected must be strings.
 * - LLaMA-Factory ShareGPT ranking (SharegptDatasetConverter with `ranking`): {conversations, chosen, rejected,
 *   system?}; after a leading system-tag turn the conversation must have an ODD number of turns (it ends with the
 *   user's turn), roles alternating as for SFT; chosen and rejected are single messages {from, value} whose role is
 *   the assistant tag (the function tag is a tool call: skipped, as tool turns are for SFT).
 * - TRL conversational (trl/data_utils.py, "Preference" in the TRL dataset-formats docs): {prompt: [messages],
 *   chosen: [messages], rejected: [messages]}, each answer ONE assistant message; or the implicit-prompt form
 *   {chosen: [messages], rejected: [messages]} whose shared leading messages are the prompt (maybe_extract_prompt).
 * - TRL standard (plain strings): {prompt, chosen, rejected} strings. The studio renders the prompt as the user
 *   turn and each answer as the assistant turn with the chat template (as LLaMA-Factory does for every layout); TRL
 *   itself would concatenate the raw strings for a standard dataset.
 * Both resulting conversations must pass ./records checkConversation (alternating turns, non-empty texts). A pair
 * whose answers are identical is refused (it carries no preference). Failures throw {@link DatasetError} naming
 * `where`; callers skip the row and keep the others.
 */
import type { ChatMessage, PreferencePair } from './types';
import { DatasetError } from './errors';
import { DEFAULT_ATTR, type DatasetAttr } from './datasetInfo';
import { alpacaToMessages, checkConversation, messageList, sharegptToMessages, type Noun } from './records';

/** Preference layouts, as shown in the Format column. */
export type PreferenceFormat = 'alpaca' | 'sharegpt' | 'trl-conversational' | 'trl-standard';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when a record holds both answer columns of `attr` (the key test that marks a file as preference data). */
export function isPreferenceRecord(rec: unknown, attr: DatasetAttr = DEFAULT_ATTR): boolean {
  const { chosen, rejected } = attr.columns;
  return isObject(rec) && chosen !== null && rejected !== null && chosen in rec && rejected in rec;
}

/** Layout of a preference record from its keys (or the dataset_info.json formatting), or null. */
export function detectPreferenceFormat(rec: Record<string, unknown>, attr: DatasetAttr = DEFAULT_ATTR): PreferenceFormat | null {
  if (attr.formatting !== null) return attr.formatting;
  if ((attr.columns.messages ?? 'conversations') in rec) return 'sharegpt';
  if ((attr.columns.prompt ?? 'instruction') in rec) return 'alpaca';
  if ('prompt' in rec) return typeof rec['prompt'] === 'string' ? 'trl-standard' : 'trl-conversational';
  if (Array.isArray(rec[attr.columns.chosen ?? 'chosen'])) return 'trl-conversational';
  return null;
}

function answerString(rec: Record<string, unknown>, key: string, where: string, noun: Noun): string {
  const v = rec[key];
  if (typeof v !== 'string') throw new DatasetError(`${where}: ${noun} '${key}' must be a string (the ${key === 'rejected' ? 'dispreferred' : 'preferred'} answer), got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`);
  return v;
}

function alpacaPair(rec: Record<string, unknown>, where: string, noun: Noun, attr: DatasetAttr): [ChatMessage[], string, string] {
  const { chosen, rejected } = attr.columns as { chosen: string; rejected: string };
  const c = answerString(rec, chosen, where, noun);
  const r = answerString(rec, rejected, where, noun);
  const messages = alpacaToMessages(rec, where, noun, { ...attr, columns: { ...attr.columns, response: chosen } });
  return [messages.slice(0, -1), c, r];
}

function sharegptAnswer(rec: Record<string, unknown>, key: string, where: string, attr: DatasetAttr): string {
  const t = attr.tags;
  const m = rec[key];
  if (!isObject(m)) throw new DatasetError(`${where}: '${key}' must be one message {${t.role}, ${t.content}} (LLaMA-Factory ShareGPT ranking layout), got ${Array.isArray(m) ? 'a list' : JSON.stringify(m)}`);
  const role = m[t.role ?? 'from'] ?? (attr.aliases ? m['role'] : undefined);
  const value = m[t.content ?? 'value'] ?? (attr.aliases ? m['content'] : undefined);
  if (role === t.function && t.function !== null) throw new DatasetError(`${where}: '${key}' is a tool call (${t.function}); tool turns are not trained by the studio yet`);
  if (role !== t.assistant && !(attr.aliases && role === 'assistant')) throw new DatasetError(`${where}: '${key}' has "${t.role}" ${JSON.stringify(role)}; expected ${t.assistant}${attr.aliases ? ' or assistant' : ''}`);
  if (typeof value !== 'string') throw new DatasetError(`${where}: '${key}': "${t.content}" must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function sharegptPair(rec: Record<string, unknown>, where: string, noun: Noun, attr: DatasetAttr): [ChatMessage[], string, string] {
  const { chosen, rejected, messages: key } = attr.columns as { chosen: string; rejected: string; messages: string | null };
  const c = sharegptAnswer(rec, chosen, where, attr);
  const r = sharegptAnswer(rec, rejected, where, attr);
  const conv = key === null ? undefined : rec[key];
  if (!Array.isArray(conv)) throw new DatasetError(`${where}: ${noun} '${key ?? 'conversations'}' must be a list of {${attr.tags.role}, ${attr.tags.content}} messages`);
  const leadingSystem = conv.length > 0 && isObject(conv[0]) && attr.tags.system !== null && conv[0][attr.tags.role ?? 'from'] === attr.tags.system;
  const turns = conv.length - (leadingSystem ? 1 : 0);
  if (turns % 2 === 0) throw new DatasetError(`${where}: ${turns} turn${turns === 1 ? '' : 's'} in '${key}' (not counting a leading system turn); a ShareGPT preference row needs an odd count ending with the user's turn (chosen and rejected are the answers to it)`);
  // The prompt turns are checked by the SFT converter with the chosen answer appended as the last assistant turn.
  const withAnswer = [...conv, { [attr.tags.role ?? 'from']: attr.tags.assistant, [attr.tags.content ?? 'value']: c }];
  const messages = sharegptToMessages({ ...rec, [key as string]: withAnswer }, where, attr, noun);
  return [messages.slice(0, -1), c, r];
}

/** The one assistant message of a TRL answer list. */
function trlAnswer(list: readonly ChatMessage[], key: string, where: string): string {
  const m = list[0];
  if (list.length !== 1 || m === undefined || m.role !== 'assistant') {
    throw new DatasetError(`${where}: '${key}' must hold exactly one assistant message after the prompt, found ${list.length === 0 ? 'none' : list.map((x) => x.role).join(', ')}`);
  }
  return m.content;
}

function trlPair(rec: Record<string, unknown>, where: string, noun: Noun, format: PreferenceFormat): [ChatMessage[], string, string] {
  if (format === 'trl-standard') {
    const prompt = answerString(rec, 'prompt', where, noun);
    return [[{ role: 'user', content: prompt }], answerString(rec, 'chosen', where, noun), answerString(rec, 'rejected', where, noun)];
  }
  const chosen = messageList(rec['chosen'], 'chosen', where, noun);
  const rejected = messageList(rec['rejected'], 'rejected', where, noun);
  if ('prompt' in rec) return [messageList(rec['prompt'], 'prompt', where, noun), trlAnswer(chosen, 'chosen', where), trlAnswer(rejected, 'rejected', where)];
  // Implicit prompt (TRL extract_prompt): the longest run of leading messages the two lists share.
  let k = 0;
  while (k < Math.min(chosen.length, rejected.length) && chosen[k]?.role === rejected[k]?.role && chosen[k]?.content === rejected[k]?.content) k++;
  if (k === 0) throw new DatasetError(`${where}: no 'prompt' ${noun}, and 'chosen' and 'rejected' share no leading messages to take as the prompt`);
  return [chosen.slice(0, k), trlAnswer(chosen.slice(k), 'chosen', where), trlAnswer(rejected.slice(k), 'rejected', where)];
}

/**
 * A preference record → a validated pair with `source = where` and its layout.
 * @throws DatasetError naming `where`: not an object, an unknown layout, a missing/ill-typed answer, a prompt that
 *   does not end with the user's turn, turns out of order, an empty text, or chosen === rejected
 */
export function recordToPair(rec: unknown, where: string, attr: DatasetAttr = DEFAULT_ATTR, noun: Noun = 'field'): PreferencePair & { format: PreferenceFormat } {
  if (!isObject(rec)) throw new DatasetError(`${where}: expected an object with 'chosen' and 'rejected', got ${Array.isArray(rec) ? 'a list' : JSON.stringify(rec)}`);
  if (!isPreferenceRecord(rec, attr)) {
    const { chosen, rejected } = attr.columns;
    const missing = [chosen, rejected].filter((k) => k === null || !(k in rec));
    if (missing.length === 1) throw new DatasetError(`${where}: ${noun} '${missing[0] ?? 'rejected'}' is missing (the ${missing[0] === chosen ? 'preferred' : 'dispreferred'} answer)`);
    throw new DatasetError(`${where}: no '${chosen ?? 'chosen'}' and '${rejected ?? 'rejected'}' ${noun}s; this file holds preference pairs (an SFT row cannot be mixed in)`);
  }
  const format = detectPreferenceFormat(rec, attr);
  if (format === null) {
    throw new DatasetError(`${where}: unknown preference layout (keys: ${Object.keys(rec).slice(0, 6).join(', ')}); expected 'instruction' (LLaMA-Factory alpaca), 'conversations' (LLaMA-Factory ShareGPT) or 'prompt' (TRL) next to 'chosen'/'rejected'`);
  }
  const [prompt, chosen, rejected] = format === 'alpaca' ? alpacaPair(rec, where, noun, attr) : format === 'sharegpt' ? sharegptPair(rec, where, noun, attr) : trlPair(rec, where, noun, format);
  const last = prompt[prompt.length - 1];
  if (last?.role !== 'user') throw new DatasetError(`${where}: the prompt must end with a user message (the answers reply to it), ${last ? `found ${last.role}` : 'it is empty'}`);
  for (const [key, text] of [['chosen', chosen], ['rejected', rejected]] as const) {
    if (text.trim() === '') throw new DatasetError(`${where}: '${key}' is empty`);
  }
  const checked = checkConversation([...prompt, { role: 'assistant', content: chosen }], where);
  if (chosen === rejected) throw new DatasetError(`${where}: 'chosen' and 'rejected' are the same text, so there is no preference to learn`);
  return { prompt: checked.slice(0, -1), chosen, rejected, source: where, format };
}
