/**
 * Dataset files → conversations, dispatched on the file extension (.json, .jsonl, .csv), and the train / held-out
 * split read from a file name.
 */
import type { Conversation } from './types';
import { DatasetError } from './errors';
import { parseCsvDataset } from './csv';
import { parseJsonDataset, parseJsonlDataset } from './json';

/** Container formats recognised from the extension. */
export type DatasetFileFormat = 'json' | 'jsonl' | 'csv';

/** The split a dataset file belongs to. */
export type DatasetSplit = 'train' | 'heldout';

/** The container format of a file name (case-insensitive extension), or null for other files. */
export function datasetFormatOf(fileName: string): DatasetFileFormat | null {
  const m = /\.(json|jsonl|csv)$/i.exec(fileName);
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

/**
 * Parses dataset text by the extension of `fileName` (which also labels errors and sources).
 * @throws DatasetError for an unsupported extension or any parse/validation error (naming the file and row/line)
 */
export function parseDataset(text: string, fileName: string): Conversation[] {
  const format = datasetFormatOf(fileName);
  if (format === 'csv') return parseCsvDataset(text, fileName);
  if (format === 'jsonl') return parseJsonlDataset(text, fileName);
  if (format === 'json') return parseJsonDataset(text, fileName);
  throw new DatasetError(`${fileName}: unsupported dataset file; expected .json (alpaca/ShareGPT array), .jsonl (ShareGPT or OpenAI messages) or .csv (instruction,output)`);
}

/** Reads a dataset Blob (UTF-8) and parses it. @throws DatasetError as {@link parseDataset} */
export async function readDatasetFile(file: Blob, fileName: string): Promise<Conversation[]> {
  return parseDataset(await file.text(), fileName);
}
