/**
 * JSON and JSON Lines datasets. A .json file holds one array of records (alpaca, ShareGPT or OpenAI messages,
 * see ./records); a .jsonl file holds one record per line (blank lines skipped). A .json file whose text is not one
 * JSON value but one object per line is read as JSON Lines.
 */
import type { Conversation } from './types';
import { DatasetError } from './errors';
import { recordToConversation } from './records';

/**
 * Parses JSON Lines text (sources "<fileName> line N", 1-based file lines).
 * @throws DatasetError naming the file and line for invalid JSON or a bad record; when no line holds a record
 */
export function parseJsonlDataset(text: string, fileName: string): Conversation[] {
  const out: Conversation[] = [];
  text.replace(/^\uFEFF/, '').split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${fileName} line ${i + 1}`;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new DatasetError(`${where}: not valid JSON (${(e as Error).message}); expected one JSON object per line`);
    }
    out.push(recordToConversation(rec, where));
  });
  if (out.length === 0) throw new DatasetError(`${fileName}: no examples (the file is empty)`);
  return out;
}

/**
 * Parses a JSON array of records (sources "<fileName> item N", 1-based array index).
 * @throws DatasetError when the text is not JSON (nor JSON Lines), not an array, empty, or a record is bad
 */
export function parseJsonDataset(text: string, fileName: string): Conversation[] {
  const body = text.replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (e) {
    // A .json file written as JSON Lines: several lines that each start with "{".
    const lines = body.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length > 1 && lines.every((l) => l.trimStart().startsWith('{'))) return parseJsonlDataset(body, fileName);
    throw new DatasetError(`${fileName}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(value)) {
    throw new DatasetError(`${fileName}: expected a JSON array of examples ([{"instruction": ..., "output": ...}, ...]), got ${value === null ? 'null' : typeof value}`);
  }
  if (value.length === 0) throw new DatasetError(`${fileName}: the array holds no examples`);
  return value.map((rec: unknown, i) => recordToConversation(rec, `${fileName} item ${i + 1}`));
}
