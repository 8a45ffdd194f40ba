/** Reading a dataset file named on the command line (train, compare). */
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { readDatasetFile } from '../io/dataset/parse';

/**
 * Parses the dataset at `path` (io/dataset/parse.ts readDatasetFile, named by its file name).
 * @throws Error "PATH: no such file" (or "is a folder") before reading; DatasetError naming the file and row.
 */
export async function readDatasetPath(path: string): Promise<Awaited<ReturnType<typeof readDatasetFile>>> {
  const st = await stat(path).catch(() => null);
  if (!st) throw new Error(`${path}: no such file`);
  if (!st.isFile()) throw new Error(`${path}: is a folder; expected a .json, .jsonl, .csv or .parquet dataset file`);
  return readDatasetFile(await openAsBlob(path), basename(path));
}
