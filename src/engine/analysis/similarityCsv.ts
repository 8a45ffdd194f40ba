/**
 * σ report → CSV (RFC 4180). Plain quoting rather than papaparse's `unparse`: six known columns, and the engine
 * (worker and CLI) stays free of a parser dependency for a writer this small. A field is quoted (with `"` doubled)
 * only when it contains a comma, a quote, CR or LF; lines end with `\n`.
 */
import type { SimilarityReport } from './similarity';

/** Header line of {@link similarityCsv} (without the newline). */
export const SIMILARITY_CSV_HEADER = 'tensor,layer,module,shape,numel,sigma';

/** Quotes one CSV field when needed (RFC 4180). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * One line per row of the report, in report order, under the header `tensor,layer,module,shape,numel,sigma`:
 * - `layer`: N of `model.layers.N.`, empty for non-layer tensors (embed_tokens, norm, lm_head);
 * - `shape`: the compared shape with dimensions joined by `x`, e.g. `172x64` (a scalar is empty);
 * - `sigma`: `toPrecision(12)` (12 significant digits, exact enough for a 1e-9 relative check).
 * @returns the CSV text, ending with a newline.
 */
export function similarityCsv(report: SimilarityReport): string {
  const lines = [SIMILARITY_CSV_HEADER];
  for (const r of report.rows) {
    lines.push([csvField(r.tensor), r.layer === null ? '' : String(r.layer), csvField(r.module), r.shape.join('x'), String(r.numel), r.sigma.toPrecision(12)].join(','));
  }
  return lines.join('\n') + '\n';
}
