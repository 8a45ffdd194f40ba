/**
 * JSON and JSON Lines datasets. A .json file holds one array of records (alpaca, ShareGPT or OpenAI messages,
 * see ./records); a .jsonl file holds one record per line (blank lines skipped). A .json file whose text is not one
 * JSON value but one object per line is read as JSON Lines. A bad record (or a JSON Lines line that is not JSON) is
 * skipped and reported; a file that is not JSON at all, or holds no rows, is refused.
 */
import { DatasetError } from './errors';
import { DEFAULT_ATTR, type DatasetAttr } from './datasetInfo';
import { convertRows, type ParsedDataset, type RawRow } from './rows';

/**
 * Parses JSON Lines text (rows = 1-based file lines; sources "<fileName> line N").
 * @throws DatasetError naming the file when no line holds a record
 */
export function parseJsonlDataset(text: string, fileName: string, attr: DatasetAttr = DEFAULT_ATTR): ParsedDataset {
  const rows: RawRow[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${fileName} line ${i + 1}`;
    try {
      rows.push({ row: i + 1, where, rec: JSON.parse(line) });
    } catch (e) {
      rows.push({ row: i + 1, where, rec: null, error: `not valid JSON (${(e as Error).message}); expected one JSON object per line` });
    }
  });
  if (rows.length === 0) throw new DatasetError(`${fileName}: no examples (the file is empty)`);
  return convertRows(rows, fileName, attr);
}

/**
 * Parses a JSON array of records (rows = 1-based array index; sources "<fileName> item N").
 * @throws DatasetError when the text is not JSON (nor JSON Lines), not an array, or empty
 */
export function parseJsonDataset(text: string, fileName: string, attr: DatasetAttr = DEFAULT_ATTR): ParsedDataset {
  const body = text.replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    // A .json file written as JSON Lines: several lines that each start with "{".
    const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length > 1 && lines.every((l) => l.trimStart().startsWith('{'))) return parseJsonlDataset(body, fileName, attr);
    throw new DatasetError(`${fileName}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(value)) {
    throw new DatasetError(`${fileName}: expected a JSON array of examples ([{"instruction": ..., "output": ...}, ...]), got ${value === null ? 'null' : typeof value}`);
  }
  if (value.length === 0) throw new DatasetError(`${fileName}: the array holds no examples`);
  return convertRows(value.map((rec: unknown, i) => ({ row: i + 1, where: `${fileName} item ${i + 1}`, rec })), fileName, attr);
}
