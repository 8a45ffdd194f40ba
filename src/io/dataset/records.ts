/**
 * Conversion of one dataset record (a JSON object or a CSV row) into chat messages, for the three record layouts
 * LLaMA-Factory reads (data/README.md; src/llamafactory/data/converter.py):
 * - alpaca:   {instruction, input?, output, system?, history?: [[q, a], ...]}; the user turn is instruction and
 *   input joined by {@link ALPACA_JOIN} when input is non-empty (AlpacaDatasetConverter: "\n".join([prompt, query])).
 * - ShareGPT: {conversations: [{from: human|gpt|system (also user|assistant), value}], system?}.
 * - OpenAI:   {messages: [{role: system|user|assistant, content: string | [{type: "text", text}]}]}.
 * Every conversation must be: optional system message first, then user/assistant turns alternating, starting with
 * user and ending with assistant, with non-empty user and assistant texts.
 */
import type { ChatMessage, Conversation } from './types';
import { DatasetError } from './errors';

/** Separator between alpaca instruction and input (LLaMA-Factory AlpacaDatasetConverter joins with "\n"). */
export const ALPACA_JOIN = '\n';

/** The record layouts recognised from an object's keys. */
export type RecordFormat = 'alpaca' | 'sharegpt' | 'messages';

/** "field" for JSON records, "column" for CSV rows (used in messages). */
type Noun = 'field' | 'column';

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

/** Optional string member ('' when absent/null). @throws DatasetError when present and not a string. */
function optString(rec: Record<string, unknown>, key: string, where: string, noun: Noun): string {
  const v = rec[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new DatasetError(`${where}: ${noun} '${key}' must be a string, got ${typeof v}`);
  return v;
}

/**
 * Alpaca record → messages. @param noun "column" for CSV rows, "field" for JSON.
 * @throws DatasetError naming `where` when output is missing/empty, instruction and input are both empty, a member
 *   has the wrong type, or history is not a list of [question, answer] string pairs.
 */
export function alpacaToMessages(rec: Record<string, unknown>, where: string, noun: Noun = 'field'): ChatMessage[] {
  const instruction = optString(rec, 'instruction', where, noun);
  const input = optString(rec, 'input', where, noun);
  const output = optString(rec, 'output', where, noun);
  const system = optString(rec, 'system', where, noun);
  if (rec['output'] === undefined) throw new DatasetError(`${where}: ${noun} 'output' is missing`);
  if (output.trim() === '') throw new DatasetError(`${where}: ${noun} 'output' is empty`);
  const user = [instruction, input].filter((s) => s !== '').join(ALPACA_JOIN);
  if (user.trim() === '') throw new DatasetError(`${where}: ${noun} 'instruction' is empty (and so is 'input')`);
  const messages: ChatMessage[] = system.trim() !== '' ? [{ role: 'system', content: system }] : [];
  const history = rec['history'];
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history)) throw new DatasetError(`${where}: ${noun} 'history' must be a list of [question, answer] pairs`);
    history.forEach((pair: unknown, i) => {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        throw new DatasetError(`${where}: ${noun} 'history' entry ${i + 1} must be a [question, answer] pair of strings`);
      }
      messages.push({ role: 'user', content: pair[0] }, { role: 'assistant', content: pair[1] });
    });
  }
  messages.push({ role: 'user', content: user }, { role: 'assistant', content: output });
  return messages;
}

const SHAREGPT_ROLES: ReadonlyMap<string, ChatMessage['role']> = new Map([
  ['human', 'user'], ['user', 'user'], ['gpt', 'assistant'], ['assistant', 'assistant'], ['system', 'system'],
]);

/**
 * ShareGPT record → messages (`from`/`value`, also accepting `role`/`content` keys). A top-level `system` string is
 * prepended as the system message (LLaMA-Factory SharegptDatasetConverter).
 * @throws DatasetError for an unknown role (e.g. function_call, observation) or a non-string value
 */
export function sharegptToMessages(rec: Record<string, unknown>, where: string): ChatMessage[] {
  const conv = rec['conversations'];
  if (!Array.isArray(conv)) throw new DatasetError(`${where}: field 'conversations' must be a list of {from, value} messages`);
  const system = optString(rec, 'system', where, 'field');
  const messages: ChatMessage[] = system.trim() !== '' ? [{ role: 'system', content: system }] : [];
  conv.forEach((m: unknown, i) => {
    const at = `${where}: conversations[${i}]`;
    if (!isObject(m)) throw new DatasetError(`${at} must be an object {from, value}`);
    const from = m['from'] ?? m['role'];
    const value = m['value'] ?? m['content'];
    const role = typeof from === 'string' ? SHAREGPT_ROLES.get(from) : undefined;
    if (!role) throw new DatasetError(`${at}: "from" is ${JSON.stringify(from)}; expected human, gpt or system (or user, assistant)`);
    if (typeof value !== 'string') throw new DatasetError(`${at}: "value" must be a string, got ${JSON.stringify(value)}`);
    messages.push({ role, content: value });
  });
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
  const list = rec['messages'];
  if (!Array.isArray(list)) throw new DatasetError(`${where}: field 'messages' must be a list of {role, content} messages`);
  return list.map((m: unknown, i) => {
    const at = `${where}: messages[${i}]`;
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
 * Any record (JSON value) → validated Conversation with `source = where`.
 * @throws DatasetError when the record is not an object of a known layout or fails {@link checkConversation}
 */
export function recordToConversation(rec: unknown, where: string): Conversation {
  if (!isObject(rec)) throw new DatasetError(`${where}: expected an object (alpaca, ShareGPT or OpenAI messages), got ${Array.isArray(rec) ? 'a list' : JSON.stringify(rec)}`);
  const format = detectRecordFormat(rec);
  let messages: ChatMessage[];
  if (format === 'alpaca') messages = alpacaToMessages(rec, where);
  else if (format === 'sharegpt') messages = sharegptToMessages(rec, where);
  else if (format === 'messages') messages = openaiToMessages(rec, where);
  else {
    const keys = Object.keys(rec).slice(0, 6).join(', ');
    throw new DatasetError(`${where}: unknown record layout (keys: ${keys || 'none'}); expected 'instruction'/'output' (alpaca), 'conversations' (ShareGPT) or 'messages' (OpenAI)`);
  }
  return { messages: checkConversation(messages, where), source: where };
}
