/**
 * Preference pairs → LLaMA-Factory's ShareGPT ranking layout and its `data/dataset_info.json` entry (stage dpo):
 * `{"conversations": [{"from": "human", …}, …], "chosen": {"from": "gpt", "value": …}, "rejected": {…}}` with an
 * optional `system` column, and the entry `{"file_name", "formatting": "sharegpt", "ranking": true, "columns":
 * {"messages": "conversations", "chosen": "chosen", "rejected": "rejected", "system": "system"}}` (LLaMA-Factory
 * data/README.md "Preference Dataset", src/llamafactory/data/converter.py SharegptDatasetConverter). The studio's own
 * parser reads it back (src/io/dataset/prefRecords.ts).
 */
import type { PreferencePair } from '../../io/dataset/types';

/** One ranking record as LLaMA-Factory reads it. */
export interface RankingRecord {
  readonly conversations: readonly { readonly from: 'human' | 'gpt'; readonly value: string }[];
  readonly chosen: { readonly from: 'gpt'; readonly value: string };
  readonly rejected: { readonly from: 'gpt'; readonly value: string };
  readonly system?: string;
}

/** A dataset_info.json entry for a ShareGPT ranking file. */
export interface RankingInfoEntry {
  readonly file_name: string;
  readonly formatting: 'sharegpt';
  readonly ranking: true;
  readonly columns: { readonly messages: 'conversations'; readonly chosen: 'chosen'; readonly rejected: 'rejected'; readonly system: 'system' };
}

/**
 * Converts one pair: the prompt's turns (system first when present; then user, assistant, …, user) and both answers.
 * @throws Error naming the pair's source when the prompt's roles do not alternate or do not end with the user turn
 */
export function toRanking(p: PreferencePair): RankingRecord {
  const system = p.prompt[0]?.role === 'system' ? p.prompt[0].content : undefined;
  const turns = system === undefined ? p.prompt : p.prompt.slice(1);
  const conversations = turns.map((m, i) => {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want) throw new Error(`${p.source}: prompt message ${i + (system === undefined ? 0 : 1)} is ${m.role}, expected ${want} (LLaMA-Factory ShareGPT turns alternate human/gpt)`);
    return { from: m.role === 'user' ? ('human' as const) : ('gpt' as const), value: m.content };
  });
  if (conversations.length % 2 !== 1) throw new Error(`${p.source}: the prompt must end with a user turn for LLaMA-Factory's ranking layout`);
  const rec = { conversations, chosen: { from: 'gpt' as const, value: p.chosen }, rejected: { from: 'gpt' as const, value: p.rejected } };
  return system !== undefined && system !== '' ? { ...rec, system } : rec;
}

/** The JSON text of a ranking data file (an array of records, 1-space indent, trailing newline). */
export function rankingJson(pairs: readonly PreferencePair[]): string {
  return JSON.stringify(pairs.map(toRanking), null, 1) + '\n';
}

/** The dataset_info.json entry for a ranking file in the dataset folder. */
export function rankingInfoEntry(fileName: string): RankingInfoEntry {
  return { file_name: fileName, formatting: 'sharegpt', ranking: true, columns: { messages: 'conversations', chosen: 'chosen', rejected: 'rejected', system: 'system' } };
}
