/**
 * Dataset files → conversations, dispatched on the file extension (.json, .jsonl, .csv, .parquet), and the train /
 * held-out split read from a file name. Bad rows are skipped and reported (./rows); only a file that cannot be read at
 * all (not JSON, no header, not Parquet, no rows) throws.
 */
import { DatasetError } from './errors';
import { parseCsvDataset } from './csv';
import { DEFAULT_ATTR, type DatasetAttr } from './datasetInfo';
import { parseJsonDataset, parseJsonlDataset } from './json';
import { parseParquetDataset } from './parquet';
import type { ParsedDataset } from './rows';

export type { ParsedDataset } from './rows';

/** Container formats recognised from the extension. */
export type DatasetFileFormat = 'json' | 'jsonl' | 'csv' | 'parquet';

/** The split a dataset file belongs to. */
export type DatasetSplit = 'train' | 'heldout';

/** The container format of a file name (case-insensitive extension), or null for other files. */
export function datasetFormatOf(fileName: string): DatasetFileFormat | null {
  const m = /\.(json|jsonl|csv|parquet)$/i.exec(fileName);
  return m ? (m[1]?.toLowerCase() as DatasetFileFormat) : null;
}

/** Words that mark a held-out split, as separate tokens of the name (so "interval" or "contest" do not match). */
const HELDOUT_RE = /(^|[^a-z0-9])(held[-_ ]?out|valid|validation|val|dev|test|testing|eval|evaluation)([^a-z0-9]|$)/i;

/**
 * Train vs held-out from a file name: "heldout", "held-out", "valid(ation)", "val", "dev", "test", "eval(uation)" as a
 * word of the name (e.g. "story-titles.heldout.csv", "val.jsonl", "my_test_set.json") → heldout; otherwise train.
 */
export function datasetSplitOf(fileName: string): DatasetSplit {
  const base = fileName.split('/').pop() ?? fileName;
  return HELDOUT_RE.test(base) ? 'heldout' : 'train';
}

const UNSUPPORTED = 'unsupported dataset file; expected .json (alpaca/ShareGPT array), .jsonl (ShareGPT or OpenAI messages), .csv (instruction,output) or .parquet';

/**
 * Parses dataset text by the extension of `fileName` (which also labels errors and sources). Not for .parquet
 * (binary: use {@link readDatasetFile}).
 * @throws DatasetError for an unsupported extension or a file that cannot be read at all (naming the file)
 */
export function parseDataset(text: string, fileName: string, attr: DatasetAttr = DEFAULT_ATTR): ParsedDataset {
  const format = datasetFormatOf(fileName);
  if (format === 'csv') return parseCsvDataset(text, fileName, attr);
  if (format === 'jsonl') return parseJsonlDataset(text, fileName, attr);
  if (format === 'json') return parseJsonDataset(text, fileName, attr);
  if (format === 'parquet') throw new DatasetError(`${fileName}: a Parquet file is binary; read it with readDatasetFile`);
  throw new DatasetError(`${fileName}: ${UNSUPPORTED}`);
}

/** Reads a dataset Blob (UTF-8 text, or Parquet) and parses it. @throws DatasetError as {@link parseDataset} */
export async function readDatasetFile(file: Blob, fileName: string, attr: DatasetAttr = DEFAULT_ATTR): Promise<ParsedDataset> {
  if (datasetFormatOf(fileName) === 'parquet') return parseParquetDataset(file, fileName, attr);
  return parseDataset(await file.text(), fileName, attr);
}
