/**
 * LLaMA-Factory data folders: a `dataset_info.json` maps dataset names to files and says how to read them, read here
 * exactly as LLaMA-Factory's get_dataset_list does (src/llamafactory/data/parser.py):
 * - `file_name` (relative to the folder holding dataset_info.json) names the file; entries with `hf_hub_url`,
 *   `ms_hub_url` or `script_url` load from the network or a script and are reported as not loadable here.
 * - `formatting`: "alpaca" (default) or "sharegpt". `ranking: true` marks preference data (./prefRecords): its
 *   rows are read as chosen/rejected pairs from the `chosen` and `rejected` columns, which LLaMA-Factory only knows
 *   from `columns` (DatasetAttr.chosen/rejected default to None), so a ranking entry without them is not loadable.
 * - `columns`, when present, REPLACES the column names: each of system, tools, images, chosen, rejected, kto_tag and,
 *   for alpaca, prompt, query, response, history, for sharegpt, messages, is taken from `columns` or becomes None
 *   (set_attr(key, columns) with default None) — so `columns: {"prompt": "q", "response": "a"}` has no input column.
 * - `tags` (sharegpt only), when present, replaces role_tag, content_tag, user_tag, assistant_tag, observation_tag,
 *   function_tag and system_tag the same way (a tag not listed becomes None).
 * Without dataset_info.json (or for a file it does not list) the studio detects the layout from the keys and uses the
 * LLaMA-Factory defaults, plus the `user`/`assistant` (and role/content) aliases in ShareGPT.
 */
import { DatasetError } from './errors';

/** Column names (null = LLaMA-Factory's None: the column is not read). */
export interface DatasetColumns {
  readonly prompt: string | null;
  readonly query: string | null;
  readonly response: string | null;
  readonly history: string | null;
  readonly messages: string | null;
  readonly system: string | null;
  /** Preference answers (ranking data): LLaMA-Factory's `chosen` / `rejected` columns. */
  readonly chosen: string | null;
  readonly rejected: string | null;
}

/** ShareGPT tags (null = None). */
export interface DatasetTags {
  readonly role: string | null;
  readonly content: string | null;
  readonly user: string | null;
  readonly assistant: string | null;
  readonly observation: string | null;
  readonly function: string | null;
  readonly system: string | null;
}

/** How the rows of one file are read. */
export interface DatasetAttr {
  /** Layout forced by dataset_info.json, or null to detect it per record. */
  readonly formatting: 'alpaca' | 'sharegpt' | null;
  /**
   * Preference data: true when dataset_info.json says `ranking: true`, false when it lists the file without it;
   * null (no dataset_info.json entry) = detected from the rows (a first record with both `chosen` and `rejected`).
   */
  readonly ranking: boolean | null;
  readonly columns: DatasetColumns;
  readonly tags: DatasetTags;
  /** Accept user/assistant roles and role/content keys in ShareGPT (only without dataset_info.json). */
  readonly aliases: boolean;
  /** The dataset_info.json name of the entry, when one applies. */
  readonly name: string | null;
}

/** LLaMA-Factory's DatasetAttr defaults (parser.py), with the studio's aliases and layout detection. */
export const DEFAULT_ATTR: DatasetAttr = {
  formatting: null,
  ranking: null,
  columns: { prompt: 'instruction', query: 'input', response: 'output', history: 'history', messages: 'conversations', system: 'system', chosen: 'chosen', rejected: 'rejected' },
  tags: { role: 'from', content: 'value', user: 'human', assistant: 'gpt', observation: 'observation', function: 'function_call', system: 'system' },
  aliases: true,
  name: null,
};

/** One dataset_info.json entry resolved to a file path of the drop. */
export interface DatasetInfoEntry {
  /** Path in the drop: folder of dataset_info.json + file_name. */
  readonly path: string;
  readonly attr: DatasetAttr;
}

/** What a dataset_info.json says: entries by file path, and entries that cannot be used here (with why). */
export interface DatasetInfo {
  readonly entries: ReadonlyMap<string, DatasetInfoEntry>;
  readonly unusable: readonly string[];
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses dataset_info.json text. @param path the file's path in the drop (its folder prefixes every file_name)
 * @throws DatasetError naming the file for invalid JSON, a non-object, an entry that is not an object or has an
 *   unknown `formatting`
 */
export function parseDatasetInfo(text: string, path: string): DatasetInfo {
  let v: unknown;
  try {
    v = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new DatasetError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(v)) throw new DatasetError(`${path}: expected an object {"dataset name": {"file_name": ..., ...}}`);
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
  const entries = new Map<string, DatasetInfoEntry>();
  const unusable: string[] = [];
  for (const [name, e] of Object.entries(v)) {
    if (!isObject(e)) throw new DatasetError(`${path}: entry "${name}" must be an object`);
    if ('hf_hub_url' in e || 'ms_hub_url' in e || 'script_url' in e) {
      unusable.push(`${path}: "${name}" loads from a hub or a script, which the studio does not fetch (nothing leaves this machine)`);
      continue;
    }
    const fileName = str(e['file_name']);
    if (fileName === null) throw new DatasetError(`${path}: entry "${name}" has no "file_name"`);
    const formatting = e['formatting'] ?? 'alpaca';
    if (formatting !== 'alpaca' && formatting !== 'sharegpt') throw new DatasetError(`${path}: entry "${name}": formatting ${JSON.stringify(formatting)} is not supported; expected "alpaca" or "sharegpt"`);
    const ranking = e['ranking'] === true;
    let columns: DatasetColumns = { ...DEFAULT_ATTR.columns, history: null, system: null, chosen: null, rejected: null };
    const cols = e['columns'];
    if (isObject(cols)) {
      const pref = { chosen: str(cols['chosen']), rejected: str(cols['rejected']) };
      columns = formatting === 'alpaca'
        ? { prompt: str(cols['prompt']), query: str(cols['query']), response: str(cols['response']), history: str(cols['history']), messages: DEFAULT_ATTR.columns.messages, system: str(cols['system']), ...pref }
        : { ...DEFAULT_ATTR.columns, history: null, messages: str(cols['messages']), system: str(cols['system']), ...pref };
    }
    if (ranking && (columns.chosen === null || columns.rejected === null)) {
      unusable.push(`${path}: "${name}" is a preference (ranking) dataset but its "columns" do not name ${columns.chosen === null ? '"chosen"' : ''}${columns.chosen === null && columns.rejected === null ? ' and ' : ''}${columns.rejected === null ? '"rejected"' : ''}; LLaMA-Factory reads the answers only from columns.chosen / columns.rejected (e.g. "columns": {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"})`);
      continue;
    }
    let tags: DatasetTags = DEFAULT_ATTR.tags;
    const tg = e['tags'];
    if (formatting === 'sharegpt' && isObject(tg)) {
      tags = { role: str(tg['role_tag']), content: str(tg['content_tag']), user: str(tg['user_tag']), assistant: str(tg['assistant_tag']), observation: str(tg['observation_tag']), function: str(tg['function_tag']), system: str(tg['system_tag']) };
    }
    const file = `${dir}${fileName.replace(/^\.\//, '')}`;
    entries.set(file, { path: file, attr: { formatting, ranking, columns, tags, aliases: false, name } });
  }
  return { entries, unusable };
}
