/**
 * Conversations → LLaMA-Factory's ShareGPT layout and its `data/dataset_info.json` entry (LLaMA-Factory
 * `data/README.md`, `src/llamafactory/data/parser.py` DatasetAttr defaults: role_tag "from", content_tag "value",
 * user_tag "human", assistant_tag "gpt"; a `system` column holds the system prompt). Any input the studio's dataset
 * parser reads (alpaca, ShareGPT, OpenAI messages, CSV) converts, and the written records parse back to the same
 * conversations with the studio's own parser (src/io/dataset: sharegptToMessages prepends `system`).
 */
import type { Conversation } from '../../io/dataset/types';

/** One ShareGPT record as LLaMA-Factory reads it. */
export interface ShareGptRecord {
  readonly conversations: readonly { readonly from: 'human' | 'gpt'; readonly value: string }[];
  /** Present only when the conversation starts with a non-empty system message. */
  readonly system?: string;
}

/** A dataset_info.json entry for a ShareGPT file with a system column. */
export interface DatasetInfoEntry {
  readonly file_name: string;
  readonly formatting: 'sharegpt';
  readonly columns: { readonly messages: 'conversations'; readonly system: 'system' };
}

/**
 * Converts one conversation (already checked by the parser: [system?] (user assistant)+).
 * @throws Error naming the conversation's source when a system message is not first or roles do not alternate.
 */
export function toShareGpt(c: Conversation): ShareGptRecord {
  const msgs = c.messages;
  const system = msgs[0]?.role === 'system' ? msgs[0].content : undefined;
  const turns = system === undefined ? msgs : msgs.slice(1);
  const conversations = turns.map((m, i) => {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want) throw new Error(`${c.source}: message ${i + (system === undefined ? 0 : 1)} is ${m.role}, expected ${want} (LLaMA-Factory ShareGPT turns alternate human/gpt)`);
    return { from: m.role === 'user' ? ('human' as const) : ('gpt' as const), value: m.content };
  });
  return system !== undefined && system !== '' ? { conversations, system } : { conversations };
}

/** The JSON text of a ShareGPT data file (an array of records, 1-space indent, trailing newline). */
export function shareGptJson(conversations: readonly Conversation[]): string {
  return JSON.stringify(conversations.map(toShareGpt), null, 1) + '\n';
}

/** The dataset_info.json entry for a file in the dataset folder. */
export function datasetInfoEntry(fileName: string): DatasetInfoEntry {
  return { file_name: fileName, formatting: 'sharegpt', columns: { messages: 'conversations', system: 'system' } };
}
