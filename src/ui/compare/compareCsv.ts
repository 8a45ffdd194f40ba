/**
 * The comparison's results as CSV (papaparse `unparse`, RFC 4180 quoting) and JSON: one row per model with
 * model, label, heldout_loss, exact_match, check_rate, mean_answer_tokens (empty where not measured); a stage-dpo
 * comparison has preference_accuracy, reward_margin, chosen_logps, rejected_logps (compare.json's keys) after the
 * label, in the table's column order (ui/compare/CompareTable.tsx).
 * Labels follow the comparison's kind (app/compare/kind.ts).
 */
import Papa from 'papaparse';
import { COMPARE_MODELS, PREFERENCE_MEASURES, resultLabels, type CompareResult, type CompareView } from '../../worker/client';

/** CSV header, in column order (SFT; {@link compareCsvFields} for a result). */
export const COMPARE_CSV_FIELDS = ['model', 'label', 'heldout_loss', 'exact_match', 'check_rate', 'mean_answer_tokens'] as const;

/** True when the result holds preference measures (stage dpo, at least one model measured). */
export function hasPreference(r: CompareResult): boolean {
  return COMPARE_MODELS.some((m) => r.preference_accuracy?.[m] != null);
}

/** The CSV header of a result: {@link COMPARE_CSV_FIELDS}, plus the preference measures for stage dpo. */
export function compareCsvFields(r: CompareResult): string[] {
  const [model, label, ...rest] = COMPARE_CSV_FIELDS;
  return hasPreference(r) ? [model, label, ...PREFERENCE_MEASURES, ...rest] : [...COMPARE_CSV_FIELDS];
}

/** The CSV text of a comparison's measures. */
export function compareCsv(v: CompareView): string {
  const r = v.result;
  const labels = resultLabels(r);
  const cell = (x: number | null | undefined): string => (x === null || x === undefined ? '' : String(x));
  const pref = hasPreference(r);
  return Papa.unparse({
    fields: compareCsvFields(r),
    data: COMPARE_MODELS.map((m) => [
      m, labels[m], ...(pref ? PREFERENCE_MEASURES.map((k) => cell(r[k]?.[m])) : []),
      cell(r.heldout_loss[m]), cell(r.exact_match[m]), cell(r.check_rate[m]), cell(r.mean_answer_tokens[m]),
    ]),
  });
}

/** The JSON download: the result (compare.json's layout, as the CLI writes it), the wording and the answers. */
export function compareJson(v: CompareView): string {
  return `${JSON.stringify({ ...v.result, wording: v.wording, samples: v.samples }, null, 2)}\n`;
}
