/**
 * Conversion of one dataset record (a JSON object, a CSV row or a Parquet row) into chat messages, with the
 * semantics of LLaMA-Factory's converters (src/llamafactory/data/converter.py) and column/tag names from a
 * {@link DatasetAttr} (LLaMA-Factory defaults, or what a dataset_info.json says, see ./datasetInfo):
 * - alpaca:   {instruction, input?, output, system?, history?: [[q, a], ...]}. The user turn is the instruction and the
 *   input joined by "\n", each only when non-empty, so an empty, missing or null input is the same thing
 *   (AlpacaDatasetConverter: `if example[prompt]` / `if example[query]`, then "\n".join).
 * - ShareGPT: {conversations: [{from, value}], system?}. A leading turn from the system tag becomes the system
 *   prompt (else the `system` column); then roles must alternate user_tag/observation_tag (odd turns) and
 *   assistant_tag/function_tag (even turns), and the count must be even (SharegptDatasetConverter). The studio also
 *   accepts `user`/`assistant` for human/gpt, and role/content for from/value keys, when no dataset_info.json sets
 *   tags. Tool turns (observation, function_call) pass the structure check but are not trained yet: the row is skipped.
 * - OpenAI:   {messages: [{role: system|user|assistant, content: string | [{type: "text", text}]}]}.
 * Every conversation must then be: optional system message first, then user/assistant turns alternating, starting
 * with user and ending with assistant, with non-empty user and assistant texts. A failing record throws
 * {@link DatasetError} naming `where`; callers skip that row and keep the others.
 */
import type { ChatMessage, Conversation } from './types';
import { DatasetError } from './errors';
import { DEFAULT_ATTR, type DatasetAttr } from './datasetInfo';

/** Separator between alpaca instruction and input (LLaMA-Factory AlpacaDatasetConverter joins with "\n"). */
export const ALPACA_JOIN = '\n';

/** The record layouts recognised from an object's keys. */
export type RecordFormat = 'alpaca' | 'sharegpt' | 'messages';

/** "field" for JSON records, "column" for CSV/Parquet rows (used in messages). */
export type Noun = 'field' | 'column';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Layout of a record from its keys: messages → OpenAI, conversations → ShareGPT, instruction → alpaca; else null. */
export function detectRecordFormat(rec: Record<string, unknown>): RecordFormat | null {
  if ('messages' in rec) return 'messages';
  if ('conversations' in rec) return 'sharegpt';
  if ('instruction' in rec) return 'alpaca';
  return null;
}

/** Optional string member ('' when absent/null/no column). @throws DatasetError when present and not a string. */
function optString(rec: Record<string, unknown>, key: string | null, where: string, noun: Noun): string {
  if (key === null) return '';
  const v = rec[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new DatasetError(`${where}: ${noun} '${key}' must be a string, got ${typeof v}`);
  return v;
}

/**
 * Alpaca record → messages, with the columns of `attr` (prompt/query/response/history/system).
 * @throws DatasetError naming `where` when the response is missing/empty, prompt and query are both empty, a member
 *   has the wrong type, or history is not a list of [question, answer] string pairs.
 */
export function alpacaToMessages(rec: Record<string, unknown>, where: string, noun: Noun = 'field', attr: DatasetAttr = DEFAULT_ATTR): ChatMessage[] {
  const c = attr.columns;
  const instruction = optString(rec, c.prompt, where, noun);
  const input = optString(rec, c.query, where, noun);
  const output = optString(rec, c.response, where, noun);
  const system = optString(rec, c.system, where, noun);
  if (c.response === null || rec[c.response] === undefined) throw new DatasetError(`${where}: ${noun} '${c.response ?? 'output'}' is missing`);
  if (output.trim() === '') throw new DatasetError(`${where}: ${noun} '${c.response}' is empty`);
  const user = [instruction, input].filter((s) => s !== '').join(ALPACA_JOIN);
  if (user.trim() === '') throw new DatasetError(`${where}: ${noun} '${c.prompt ?? 'instruction'}' is empty (and so is '${c.query ?? 'input'}')`);
  const messages: ChatMessage[] = system.trim() !== '' ? [{ role: 'system', content: system }] : [];
  const history = c.history === null ? undefined : rec[c.history];
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history)) throw new DatasetError(`${where}: ${noun} '${c.history}' must be a list of [question, answer] pairs`);
    history.forEach((pair: unknown, i) => {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        throw new DatasetError(`${where}: ${noun} '${c.history}' entry ${i + 1} must be a [question, answer] pair of strings`);
      }
      messages.push({ role: 'user', content: pair[0] }, { role: 'assistant', content: pair[1] });
    });
  }
  messages.push({ role: 'user', content: user }, { role: 'assistant', content: output });
  return messages;
}

/**
 * ShareGPT record → messages with the tags of `attr` (see the file comment for the LLaMA-Factory rules).
 * @throws DatasetError for a role out of turn, an odd turn count, a tool turn, or a non-string value
 */
export function sharegptToMessages(rec: Record<string, unknown>, where: string, attr: DatasetAttr = DEFAULT_ATTR, noun: Noun = 'field'): ChatMessage[] {
  const t = attr.tags;
  const key = attr.columns.messages;
  const conv = key === null ? undefined : rec[key];
  if (!Array.isArray(conv)) throw new DatasetError(`${where}: ${noun} '${key ?? 'conversations'}' must be a list of {${t.role}, ${t.content}} messages`);
  const aliases = attr.aliases;
  const roleOf = (m: Record<string, unknown>): unknown => m[t.role ?? 'from'] ?? (aliases ? m['role'] : undefined);
  const valueOf = (m: Record<string, unknown>): unknown => m[t.content ?? 'value'] ?? (aliases ? m['content'] : undefined);
  const isUser = (r: unknown): boolean => r === t.user || (aliases && r === 'user');
  const isAssistant = (r: unknown): boolean => r === t.assistant || (aliases && r === 'assistant');
  conv.forEach((m: unknown, i) => {
    if (!isObject(m)) throw new DatasetError(`${where}: ${key}[${i}] must be an object {${t.role}, ${t.content}}`);
  });
  let turns = conv as Record<string, unknown>[];
  let system = '';
  if (t.system !== null && turns.length > 0 && roleOf(turns[0] as Record<string, unknown>) === t.system) {
    const v = valueOf(turns[0] as Record<string, unknown>);
    if (typeof v !== 'string') throw new DatasetError(`${where}: ${key}[0]: "${t.content}" must be a string, got ${JSON.stringify(v)}`);
    system = v;
    turns = turns.slice(1);
  } else system = optString(rec, attr.columns.system, where, noun);
  const offset = conv.length - turns.length;
  const expected = (odd: boolean): string => {
    const names = odd ? [t.user, t.observation, ...(aliases ? ['user'] : [])] : [t.assistant, t.function, ...(aliases ? ['assistant'] : [])];
    return names.filter((n) => n !== null).join(' or ');
  };
  const messages: ChatMessage[] = system.trim() !== '' ? [{ role: 'system', content: system }] : [];
  turns.forEach((m, k) => {
    const at = `${where}: ${key}[${k + offset}]`;
    const from = roleOf(m);
    const odd = k % 2 === 0; // LLaMA-Factory counts turns from 1: odd turns are the user's
    const tool = odd ? from === t.observation && t.observation !== null : from === t.function && t.function !== null;
    if (!(odd ? isUser(from) : isAssistant(from)) && !tool) {
      throw new DatasetError(`${at}: "${t.role}" is ${JSON.stringify(from)}; expected ${expected(odd)} (turns alternate ${expected(true)} / ${expected(false)}${t.system ? `, a ${t.system} turn only first` : ''})`);
    }
    if (tool) throw new DatasetError(`${at}: tool turns (${t.observation} / ${t.function}) are not trained by the studio yet`);
    const value = valueOf(m);
    if (typeof value !== 'string') throw new DatasetError(`${at}: "${t.content}" must be a string, got ${JSON.stringify(value)}`);
    messages.push({ role: odd ? 'user' : 'assistant', content: value });
  });
  if (turns.length % 2 !== 0) throw new DatasetError(`${where}: ${turns.length} turn${turns.length === 1 ? '' : 's'} (not counting a leading system turn); ShareGPT needs an even count (user, assistant pairs)`);
  return messages;
}

/** Text of an OpenAI message content: a string, or a list of {type: "text", text} parts joined without separator. */
function contentText(content: unknown, at: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p: unknown) => {
        if (isObject(p) && p['type'] === 'text' && typeof p['text'] === 'string') return p['text'];
        throw new DatasetError(`${at}: only text content parts are supported, got ${JSON.stringify(p)}`);
      })
      .join('');
  }
  throw new DatasetError(`${at}: "content" must be a string, got ${JSON.stringify(content)}`);
}

/** OpenAI `messages` record → messages. @throws DatasetError for a role other than system/user/assistant */
export function openaiToMessages(rec: Record<string, unknown>, where: string): ChatMessage[] {
  return messageList(rec['messages'], 'messages', where);
}

/**
 * A list of OpenAI/HF {role, content} messages (content a string or text parts) → messages; `key` names the list in
 * errors (e.g. "prompt[2]"). @throws DatasetError when it is not a list, or for an item that is not such a message
 */
export function messageList(list: unknown, key: string, where: string, noun: Noun = 'field'): ChatMessage[] {
  if (!Array.isArray(list)) throw new DatasetError(`${where}: ${noun} '${key}' must be a list of {role, content} messages`);
  return list.map((m: unknown, i) => {
    const at = `${where}: ${key}[${i}]`;
    if (!isObject(m)) throw new DatasetError(`${at} must be an object {role, content}`);
    const role = m['role'];
    if (role !== 'system' && role !== 'user' && role !== 'assistant') {
      throw new DatasetError(`${at}: "role" is ${JSON.stringify(role)}; expected system, user or assistant`);
    }
    return { role, content: contentText(m['content'], at) };
  });
}

/**
 * Checks the turn structure: [system?] user assistant (user assistant)*, non-empty user/assistant texts.
 * An empty system message is dropped. @returns the messages to train on. @throws DatasetError naming `where`
 */
export function checkConversation(messages: readonly ChatMessage[], where: string): ChatMessage[] {
  const out = messages.filter((m, i) => !(i === 0 && m.role === 'system' && m.content.trim() === ''));
  const start = out[0]?.role === 'system' ? 1 : 0;
  if (out.length - start < 2) throw new DatasetError(`${where}: expected at least one user message followed by an assistant answer`);
  for (let i = start; i < out.length; i++) {
    const m = out[i] as ChatMessage;
    const want = (i - start) % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want) {
      const what = m.role === 'system' ? 'a system message is only allowed first' : `expected a ${want} message, found ${m.role}`;
      throw new DatasetError(`${where}: message ${i + 1}: ${what} (turns must alternate user, assistant)`);
    }
    if (m.content.trim() === '') throw new DatasetError(`${where}: message ${i + 1} (${m.role}) is empty`);
  }
  if (out[out.length - 1]?.role !== 'assistant') throw new DatasetError(`${where}: the last message must be the assistant's answer`);
  return out;
}

/**
 * Any record → validated Conversation with `source = where`. With a dataset_info.json entry (`attr.formatting`)
 * the layout is the one it names; otherwise it is detected from the keys.
 * @throws DatasetError when the record is not an object of a known layout or fails {@link checkConversation}
 */
export function recordToConversation(rec: unknown, where: string, attr: DatasetAttr = DEFAULT_ATTR, noun: Noun = 'field'): Conversation & { format: RecordFormat } {
  if (!isObject(rec)) throw new DatasetError(`${where}: expected an object (alpaca, ShareGPT or OpenAI messages), got ${Array.isArray(rec) ? 'a list' : JSON.stringify(rec)}`);
  const format = attr.formatting ?? detectRecordFormat(rec);
  let messages: ChatMessage[];
  if (format === 'alpaca') messages = alpacaToMessages(rec, where, noun, attr);
  else if (format === 'sharegpt') messages = sharegptToMessages(rec, where, attr, noun);
  else if (format === 'messages') messages = openaiToMessages(rec, where);
  else {
    const keys = Object.keys(rec).slice(0, 6).join(', ');
    throw new DatasetError(`${where}: unknown record layout (keys: ${keys || 'none'}); expected 'instruction'/'output' (alpaca), 'conversations' (ShareGPT) or 'messages' (OpenAI)`);
  }
  return { messages: checkConversation(messages, where), source: where, format };
}
