/** Which cells of the compare table are marked best (pure, testable without React). */
import type { CompareModel, CompareView, VerdictMeasure } from '../../worker/client';

/**
 * The models marked best on `measure`: the verdict's winners (ties within noise included), but none when every
 * measured model is among them — a tie of all (e.g. "0% (0/30)" for five models) has no winner to bold
 * (issue 20, fault 9).
 */
export function bestModels(view: CompareView, measure: VerdictMeasure): ReadonlySet<CompareModel> {
  const best = view.wording.verdicts.find((v) => v.measure === measure)?.best ?? [];
  const measured = Object.entries(view.result[measure] ?? {}).filter(([, v]) => v !== null && v !== undefined).length;
  return best.length > 0 && best.length < measured ? new Set(best) : new Set();
}
