/**
 * Preference pairs → LLaMA-Factory's ShareGPT ranking layout and its `data/dataset_info.json` entry (stage dpo):
 * `{"conversations": [{"from": "human", …}, …], "chosen": {"from": "gpt", "value": …}, "rejected": {…}}` with an
 * optional `system` column, and the entry `{"file_name", "formatting": "sharegpt", "ranking": true, "columns":
 * {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"(, "system": "system")}}` (LLaMA-Factory
 * data/README.md "Preference Dataset", src/llamafactory/data/converter.py SharegptDatasetConverter). As for SFT
 * (sharegpt.ts), the `system` column is declared only when some pair has a system message, and then every record
 * carries the key ("" where none): a declared column that no row holds raises `KeyError: 'system'` in get_dataset.
 * The studio's own parser reads it back (src/io/dataset/prefRecords.ts).
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
  readonly columns: { readonly messages: 'conversations'; readonly chosen: 'chosen'; readonly rejected: 'rejected'; readonly system?: 'system' };
}

/** The non-empty system message a pair's prompt starts with, else undefined. */
function systemOf(p: PreferencePair): string | undefined {
  const m = p.prompt[0];
  return m?.role === 'system' && m.content !== '' ? m.content : undefined;
}

/** True when some pair's prompt starts with a non-empty system message (its file then has a `system` column). */
export function pairsHaveSystem(pairs: readonly PreferencePair[]): boolean {
  return pairs.some((p) => systemOf(p) !== undefined);
}

/**
 * Converts one pair: the prompt's turns (system first when present; then user, assistant, …, user) and both answers.
 * @param withSystem write the `system` key even when empty (the file has a system column).
 * @throws Error naming the pair's source when the prompt's roles do not alternate or do not end with the user turn
 */
export function toRanking(p: PreferencePair, withSystem = false): RankingRecord {
  const system = p.prompt[0]?.role === 'system' ? p.prompt[0].content : undefined;
  const turns = system === undefined ? p.prompt : p.prompt.slice(1);
  const conversations = turns.map((m, i) => {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want) throw new Error(`${p.source}: prompt message ${i + (system === undefined ? 0 : 1)} is ${m.role}, expected ${want} (LLaMA-Factory ShareGPT turns alternate human/gpt)`);
    return { from: m.role === 'user' ? ('human' as const) : ('gpt' as const), value: m.content };
  });
  if (conversations.length % 2 !== 1) throw new Error(`${p.source}: the prompt must end with a user turn for LLaMA-Factory's ranking layout`);
  const rec = { conversations, chosen: { from: 'gpt' as const, value: p.chosen }, rejected: { from: 'gpt' as const, value: p.rejected } };
  const sys = systemOf(p);
  return sys !== undefined ? { ...rec, system: sys } : withSystem ? { ...rec, system: '' } : rec;
}

/**
 * The JSON text of a ranking data file (an array of records, 1-space indent, trailing newline); every record has a
 * `system` key when {@link pairsHaveSystem}, none otherwise.
 */
export function rankingJson(pairs: readonly PreferencePair[]): string {
  const withSystem = pairsHaveSystem(pairs);
  return JSON.stringify(pairs.map((p) => toRanking(p, withSystem)), null, 1) + '\n';
}

/**
 * The dataset_info.json entry for a ranking file in the dataset folder.
 * @param pairs the file's pairs: the `system` column is declared only when {@link pairsHaveSystem}.
 */
export function rankingInfoEntry(fileName: string, pairs: readonly PreferencePair[]): RankingInfoEntry {
  const base = { messages: 'conversations', chosen: 'chosen', rejected: 'rejected' } as const;
  return { file_name: fileName, formatting: 'sharegpt', ranking: true, columns: pairsHaveSystem(pairs) ? { ...base, system: 'system' } : base };
}
