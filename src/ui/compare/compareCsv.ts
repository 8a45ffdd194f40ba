/**
 * The comparison's results as CSV (papaparse `unparse`, RFC 4180 quoting) and JSON: one row per model with
 * model, label, heldout_loss, exact_match, check_rate, mean_answer_tokens (empty where not measured).
 */
import Papa from 'papaparse';
import { COMPARE_MODEL_LABELS, COMPARE_MODELS, type CompareView } from '../../worker/client';

/** CSV header, in column order. */
export const COMPARE_CSV_FIELDS = ['model', 'label', 'heldout_loss', 'exact_match', 'check_rate', 'mean_answer_tokens'] as const;

/** The CSV text of a comparison's measures. */
export function compareCsv(v: CompareView): string {
  const r = v.result;
  const cell = (x: number | null): string => (x === null ? '' : String(x));
  return Papa.unparse({
    fields: [...COMPARE_CSV_FIELDS],
    data: COMPARE_MODELS.map((m) => [m, COMPARE_MODEL_LABELS[m], cell(r.heldout_loss[m]), cell(r.exact_match[m]), cell(r.check_rate[m]), cell(r.mean_answer_tokens[m])]),
  });
}

/** The JSON download: the result (compare.json's layout, as the CLI writes it), the wording and the answers. */
export function compareJson(v: CompareView): string {
  return `${JSON.stringify({ ...v.result, wording: v.wording, samples: v.samples }, null, 2)}\n`;
}
