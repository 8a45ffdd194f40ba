/**
 * Row-level error handling shared by every dataset container: each record is converted on its own; a bad one is
 * skipped and reported (file, 1-based row, reason) and the others are kept. Also the file's detected schema and kind:
 * preference data when a dataset_info.json entry says `ranking: true`, or (without an entry) when the first record
 * holds both `chosen` and `rejected`; then every row is read as a pair (./prefRecords), otherwise as a conversation.
 */
import type { Conversation, DatasetKind, PreferencePair, SkippedRow } from './types';
import { DatasetError } from './errors';
import { DEFAULT_ATTR, type DatasetAttr } from './datasetInfo';
import { recordToConversation, type Noun, type RecordFormat } from './records';
import { isPreferenceRecord, recordToPair, type PreferenceFormat } from './prefRecords';

/** The schema shown in the Format column: the record layout, or csv for CSV files. */
export type DatasetSchema = RecordFormat | PreferenceFormat | 'csv' | 'mixed';

/** A parsed dataset file: the conversations (SFT) or pairs (preference) kept, the rows skipped, and the schema. */
export interface ParsedDataset {
  /** What the file trains; an SFT file has no pairs and a preference file no conversations. */
  readonly kind: DatasetKind;
  readonly conversations: Conversation[];
  readonly pairs: PreferencePair[];
  readonly skipped: SkippedRow[];
  /** Rows read (kept + skipped). */
  readonly rows: number;
  /** Layout of the kept rows ('mixed' when they differ; the layout of the first row when none was kept). */
  readonly schema: DatasetSchema;
}

/** One raw record of a file with its 1-based row number and how to name it in messages ("line 3", "item 2"). */
export interface RawRow {
  readonly row: number;
  readonly where: string;
  readonly rec: unknown;
  /** Set when the container itself failed for this row (e.g. a JSON Lines line that is not JSON). */
  readonly error?: string;
}

/** "file where: reason" → "reason" (reasons are reported next to the file and row, so the prefix is dropped). */
export function reasonOf(message: string, where: string): string {
  return message.startsWith(`${where}: `) ? message.slice(where.length + 2) : message;
}

/**
 * Converts rows with `attr`, skipping (and reporting) the ones that fail.
 * Never throws DatasetError (those become skipped rows); any other exception is a bug and propagates.
 */
export function convertRows(rows: Iterable<RawRow>, file: string, attr: DatasetAttr = DEFAULT_ATTR, noun: Noun = 'field'): ParsedDataset {
  const list = [...rows];
  const ranking = attr.ranking ?? isPreferenceRecord(list.find((r) => r.error === undefined && typeof r.rec === 'object' && r.rec !== null)?.rec, attr);
  if (ranking) return convertPairRows(list, file, attr, noun);
  const conversations: Conversation[] = [];
  const skipped: SkippedRow[] = [];
  const formats = new Set<RecordFormat>();
  let first: RecordFormat | null = null;
  let n = 0;
  for (const r of list) {
    n++;
    if (r.error !== undefined) {
      skipped.push({ file, row: r.row, reason: r.error });
      continue;
    }
    try {
      const c = recordToConversation(r.rec, r.where, attr, noun);
      formats.add(c.format);
      conversations.push({ messages: c.messages, source: c.source, file, row: r.row });
    } catch (e) {
      if (!(e instanceof DatasetError)) throw e;
      skipped.push({ file, row: r.row, reason: reasonOf(e.message, r.where) });
    }
    if (first === null && typeof r.rec === 'object' && r.rec !== null && !Array.isArray(r.rec)) {
      first = attr.formatting ?? ('messages' in r.rec ? 'messages' : 'conversations' in r.rec ? 'sharegpt' : 'instruction' in r.rec ? 'alpaca' : null);
    }
  }
  const schema: DatasetSchema = formats.size > 1 ? 'mixed' : ([...formats][0] ?? first ?? 'alpaca');
  return { kind: 'sft', conversations, pairs: [], skipped, rows: n, schema };
}

/** {@link convertRows} for preference data: every row becomes a pair or a skipped row. */
function convertPairRows(rows: readonly RawRow[], file: string, attr: DatasetAttr, noun: Noun): ParsedDataset {
  const pairs: PreferencePair[] = [];
  const skipped: SkippedRow[] = [];
  const formats = new Set<PreferenceFormat>();
  for (const r of rows) {
    if (r.error !== undefined) {
      skipped.push({ file, row: r.row, reason: r.error });
      continue;
    }
    try {
      const { format, ...pair } = recordToPair(r.rec, r.where, attr, noun);
      formats.add(format);
      pairs.push({ ...pair, file, row: r.row });
    } catch (e) {
      if (!(e instanceof DatasetError)) throw e;
      skipped.push({ file, row: r.row, reason: reasonOf(e.message, r.where) });
    }
  }
  const schema: DatasetSchema = formats.size > 1 ? 'mixed' : ([...formats][0] ?? attr.formatting ?? 'alpaca');
  return { kind: 'preference', conversations: [], pairs, skipped, rows: rows.length, schema };
}
