/**
 * CSV datasets (RFC 4180: comma-separated, fields with commas, quotes or newlines double-quoted, `"` doubled),
 * parsed with papaparse. The header row names the columns: `instruction` and `output` are required, `input` and
 * `system` optional (alpaca semantics, see ./records), other columns are ignored; names are matched after trimming,
 * case-insensitively. Rows are numbered from 1 = the first example after the header (as shared/datasets/README.md
 * counts them); blank lines are skipped but still counted.
 */
import Papa from 'papaparse';
import type { Conversation } from './types';
import { DatasetError } from './errors';
import { alpacaToMessages, checkConversation } from './records';

const REQUIRED = ['instruction', 'output'] as const;
const KNOWN = ['instruction', 'input', 'output', 'system'] as const;

/**
 * Parses CSV text into conversations (source "<fileName> row N").
 * @throws DatasetError naming the file and row for quoting errors, a wrong number of fields, a missing column in the
 *   header, or an empty instruction/output ("story.csv row 7: column 'output' is empty").
 */
export function parseCsvDataset(text: string, fileName: string): Conversation[] {
  const res = Papa.parse<string[]>(text.replace(/^\uFEFF/, ''), { delimiter: ',', quoteChar: '"', header: false, skipEmptyLines: false });
  const quoteError = res.errors.find((e) => e.type === 'Quotes');
  if (quoteError) {
    const where = quoteError.row === undefined || quoteError.row === 0 ? 'header' : `row ${quoteError.row}`;
    throw new DatasetError(`${fileName} ${where}: ${quoteError.message} (fields containing commas, quotes or newlines must be double-quoted, with " written as "")`);
  }
  const [header, ...rows] = res.data;
  if (!header || header.every((h) => h.trim() === '')) throw new DatasetError(`${fileName}: the file is empty; expected a header row with columns instruction,output`);
  const names = header.map((h) => h.trim().toLowerCase());
  const dup = names.find((n, i) => n !== '' && names.indexOf(n) !== i);
  if (dup) throw new DatasetError(`${fileName} header: column '${dup}' appears twice`);
  const missing = REQUIRED.filter((c) => !names.includes(c));
  if (missing.length) {
    throw new DatasetError(`${fileName} header: missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} (found: ${header.join(', ')}); expected instruction,output with optional input, system`);
  }
  const cols = KNOWN.map((k) => [k, names.indexOf(k)] as const).filter(([, i]) => i >= 0);
  const out: Conversation[] = [];
  rows.forEach((row, r) => {
    const where = `${fileName} row ${r + 1}`;
    if (row.length === 1 && row[0] === '') return; // blank line (also the final newline)
    if (row.length !== header.length) throw new DatasetError(`${where}: expected ${header.length} fields (${header.join(', ')}), found ${row.length}`);
    const rec: Record<string, string> = {};
    for (const [k, i] of cols) rec[k] = row[i] as string;
    out.push({ messages: checkConversation(alpacaToMessages(rec, where, 'column'), where), source: where });
  });
  if (out.length === 0) throw new DatasetError(`${fileName}: the header has no example rows after it`);
  return out;
}
