/**
 * Parquet datasets (e.g. the Shadow-FT authors' training set), read with hyparquet + hyparquet-compressors (snappy,
 * gzip, brotli, zstd, lz4): every row becomes a record object (column name → value; list<struct> columns such as
 * ShareGPT `conversations` become arrays of objects) and goes through the same record conversion as JSON, so a bad
 * row is skipped and reported (rows numbered from 1). The file is read lazily through Blob.slice.
 */
import { parquetReadObjects, type AsyncBuffer } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DatasetError } from './errors';
import { DEFAULT_ATTR, type DatasetAttr } from './datasetInfo';
import { convertRows, type ParsedDataset } from './rows';

/** A hyparquet AsyncBuffer over a Blob (reads only the byte ranges the reader asks for). */
function blobBuffer(blob: Blob): AsyncBuffer {
  return { byteLength: blob.size, slice: (start: number, end?: number) => blob.slice(start, end).arrayBuffer() };
}

/** BigInt (INT64 columns) → number when exact, else string, recursively; other values unchanged. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

/**
 * Reads a Parquet file into conversations (sources "<fileName> row N").
 * @throws DatasetError naming the file when it is not a readable Parquet file or holds no rows
 */
export async function parseParquetDataset(file: Blob, fileName: string, attr: DatasetAttr = DEFAULT_ATTR): Promise<ParsedDataset> {
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({ file: blobBuffer(file), compressors });
  } catch (e) {
    throw new DatasetError(`${fileName}: not a readable Parquet file (${(e as Error).message})`);
  }
  if (rows.length === 0) throw new DatasetError(`${fileName}: the Parquet file holds no rows`);
  return convertRows(rows.map((rec, i) => ({ row: i + 1, where: `${fileName} row ${i + 1}`, rec: plain(rec) })), fileName, attr, 'column');
}
