/**
 * CSV datasets (RFC 4180: comma-separated, fields with commas, quotes or newlines double-quoted, `"` doubled),
 * parsed with papaparse. The header row names the columns: `instruction` and `output` are required, `input` and
 * `system` optional (alpaca semantics, see ./records; a dataset_info.json entry may rename them); a header with
 * `chosen` and `rejected` (or a dataset_info.json `ranking: true` entry) is preference data in LLaMA-Factory's
 * alpaca ranking layout, `instruction,chosen,rejected` required (./prefRecords). Other columns are
 * ignored; names are matched after trimming, case-insensitively. Rows are numbered from 1 = the first example after
 * the header (as shared/datasets/README.md counts them); blank lines are skipped but still counted. A row with the
 * wrong number of fields or bad values is skipped and reported; header and quoting errors refuse the file.
 */
import Papa from 'papaparse';
import { DatasetError } from './errors';
import { DEFAULT_ATTR, type DatasetAttr } from './datasetInfo';
import { convertRows, type ParsedDataset, type RawRow } from './rows';

/**
 * Parses CSV text into conversations (source "<fileName> row N").
 * @throws DatasetError naming the file for quoting errors, an empty file, a duplicate or missing column in the
 *   header, or no example rows.
 */
export function parseCsvDataset(text: string, fileName: string, attr: DatasetAttr = DEFAULT_ATTR): ParsedDataset {
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
  const low = (s: string | null): string | null => (s === null ? null : s.toLowerCase());
  const c = attr.columns;
  const columns = { ...c, prompt: low(c.prompt), query: low(c.query), response: low(c.response), system: low(c.system), history: null, chosen: low(c.chosen), rejected: low(c.rejected) };
  const ranking = attr.ranking ?? (columns.chosen !== null && columns.rejected !== null && names.includes(columns.chosen) && names.includes(columns.rejected));
  const required = (ranking ? [columns.prompt, columns.chosen, columns.rejected] : [columns.prompt, columns.response]).filter((x): x is string => x !== null);
  const missing = required.filter((col) => !names.includes(col));
  if (missing.length) {
    throw new DatasetError(`${fileName} header: missing column${missing.length > 1 ? 's' : ''} ${missing.map((col) => `'${col}'`).join(', ')} (found: ${header.join(', ')}); expected ${required.join(',')} with optional ${[columns.query, columns.system].filter(Boolean).join(', ')}`);
  }
  const raw: RawRow[] = [];
  rows.forEach((row, r) => {
    const where = `${fileName} row ${r + 1}`;
    if (row.length === 1 && row[0] === '') return; // blank line (also the final newline)
    if (row.length !== header.length) {
      raw.push({ row: r + 1, where, rec: null, error: `expected ${header.length} fields (${header.join(', ')}), found ${row.length}` });
      return;
    }
    const rec: Record<string, string> = {};
    names.forEach((n, i) => {
      if (n !== '') rec[n] = row[i] as string;
    });
    raw.push({ row: r + 1, where, rec });
  });
  if (raw.length === 0) throw new DatasetError(`${fileName}: the header has no example rows after it`);
  const parsed = convertRows(raw, fileName, { ...attr, formatting: 'alpaca', ranking, columns }, 'column');
  return { ...parsed, schema: 'csv' };
}
