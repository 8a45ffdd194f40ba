/**
 * Conversations → LLaMA-Factory's ShareGPT layout and its `data/dataset_info.json` entry (LLaMA-Factory
 * `data/README.md`, `src/llamafactory/data/parser.py` DatasetAttr defaults: role_tag "from", content_tag "value",
 * user_tag "human", assistant_tag "gpt"; a `system` column holds the system prompt). LLaMA-Factory's
 * SharegptDatasetConverter (`data/converter.py`) reads `example[system]` whenever dataset_info.json declares the
 * column, and the `datasets` JSON loader only creates a column some row has: a declared column that no row holds
 * raises `KeyError: 'system'`. So the column is declared only when some conversation has a system message, and then
 * every record carries the key ("" where there is none: the converter's own default). Any input the studio's dataset
 * parser reads (alpaca, ShareGPT, OpenAI messages, CSV) converts, and the written records parse back to the same
 * conversations with the studio's own parser (src/io/dataset: sharegptToMessages prepends `system`).
 */
import type { Conversation } from '../../io/dataset/types';

/** One ShareGPT record as LLaMA-Factory reads it. */
export interface ShareGptRecord {
  readonly conversations: readonly { readonly from: 'human' | 'gpt'; readonly value: string }[];
  /** The system prompt: present on every record of a file where some conversation has one ("" where none). */
  readonly system?: string;
}

/** A dataset_info.json entry for a ShareGPT file; `system` is declared only when the file's records carry it. */
export interface DatasetInfoEntry {
  readonly file_name: string;
  readonly formatting: 'sharegpt';
  readonly columns: { readonly messages: 'conversations'; readonly system?: 'system' };
}

/** The system message of a conversation that starts with a non-empty one, else undefined. */
function systemOf(c: Conversation): string | undefined {
  const m = c.messages[0];
  return m?.role === 'system' && m.content !== '' ? m.content : undefined;
}

/** True when some conversation starts with a non-empty system message (its file then has a `system` column). */
export function hasSystemColumn(conversations: readonly Conversation[]): boolean {
  return conversations.some((c) => systemOf(c) !== undefined);
}

/**
 * Converts one conversation (already checked by the parser: [system?] (user assistant)+).
 * @param withSystem write the `system` key even when empty (the file has a system column).
 * @throws Error naming the conversation's source when a system message is not first or roles do not alternate.
 */
export function toShareGpt(c: Conversation, withSystem = false): ShareGptRecord {
  const msgs = c.messages;
  const system = msgs[0]?.role === 'system' ? msgs[0].content : undefined;
  const turns = system === undefined ? msgs : msgs.slice(1);
  const conversations = turns.map((m, i) => {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want) throw new Error(`${c.source}: message ${i + (system === undefined ? 0 : 1)} is ${m.role}, expected ${want} (LLaMA-Factory ShareGPT turns alternate human/gpt)`);
    return { from: m.role === 'user' ? ('human' as const) : ('gpt' as const), value: m.content };
  });
  const sys = systemOf(c);
  return sys !== undefined ? { conversations, system: sys } : withSystem ? { conversations, system: '' } : { conversations };
}

/**
 * The JSON text of a ShareGPT data file (an array of records, 1-space indent, trailing newline); every record has a
 * `system` key when {@link hasSystemColumn}, none otherwise.
 */
export function shareGptJson(conversations: readonly Conversation[]): string {
  const withSystem = hasSystemColumn(conversations);
  return JSON.stringify(conversations.map((c) => toShareGpt(c, withSystem)), null, 1) + '\n';
}

/**
 * The dataset_info.json entry for a file in the dataset folder.
 * @param conversations the file's conversations: the `system` column is declared only when {@link hasSystemColumn}.
 */
export function datasetInfoEntry(fileName: string, conversations: readonly Conversation[]): DatasetInfoEntry {
  const columns = hasSystemColumn(conversations) ? { messages: 'conversations' as const, system: 'system' as const } : { messages: 'conversations' as const };
  return { file_name: fileName, formatting: 'sharegpt', columns };
}
