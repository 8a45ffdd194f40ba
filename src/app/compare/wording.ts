/**
 * Honest wording of a comparison (issue 9 item 4): which model won on which measure, ties within noise called ties,
 * and an explicit sentence when held-out loss and the check disagree (e.g. the graft lowers loss but its answers
 * never take the format). It states only what the numbers show; no overall verdict. For stage dpo (issue 17) the
 * preference accuracy on the held-out pairs comes first, then the held-out loss on the chosen answers and the rest,
 * under the same rules; models are named by the comparison's kind (compare/kind.ts: "Instruct + DPO", "Tuned Base").
 *
 * Noise rules (printed with the table):
 * - held-out loss: two losses within {@link LOSS_TIE_REL} (1%) of the smaller one are a tie — the held-out split is a
 *   sample, and the engine reports only the mean, so smaller differences are not claimed;
 * - rates over N prompts (exact match, check): a tie when |p₁ − p₂| ≤ 1.96·√(p̄(1 − p̄)·2/N), p̄ = (p₁ + p₂)/2 (the
 *   normal approximation of a two-proportion test at 95%); equal rates are always a tie. Preference accuracy is such
 *   a rate over the held-out pairs.
 */
import { COMPARE_MODEL_LABELS, COMPARE_MODELS, type CompareModel, type PerModel } from './types';

/** Losses closer than this fraction of the smaller one are a tie. */
export const LOSS_TIE_REL = 0.01;

/** The measures a verdict is given for. */
export type VerdictMeasure = 'heldout_loss' | 'exact_match' | 'check_rate' | 'preference_accuracy';

/** One line of the wording. */
export interface Verdict {
  readonly measure: VerdictMeasure;
  /** The best model when it beats every other beyond noise; null for a tie at the top or nothing measured. */
  readonly winner: CompareModel | null;
  /** Models tied at the top (the winner alone when there is one); empty when nothing was measured. */
  readonly best: readonly CompareModel[];
  readonly text: string;
}

/** What {@link describeComparison} reads. */
export interface WordingInput {
  readonly heldout_loss: PerModel<number | null>;
  readonly exact_match: PerModel<number | null>;
  readonly check_rate: PerModel<number | null>;
  readonly eval_prompts: number;
  readonly checkRegex: string;
  /** Stage dpo: per-model preference accuracy over `heldout_examples` pairs (absent or all null for sft: no such verdict). */
  readonly preference_accuracy?: PerModel<number | null>;
  /** held-out pairs the preference accuracy is over (stage dpo) */
  readonly heldout_examples?: number;
  /** How models are named (compare/kind.ts compareModelLabels); absent = the SFT LoRA names. */
  readonly labels?: PerModel<string>;
}

/** The sentences: one verdict per measure, the disagreements, and the noise rule. */
export interface Wording {
  readonly verdicts: readonly Verdict[];
  /** Explicit sentences where loss and the check point different ways. */
  readonly disagreements: readonly string[];
  readonly notes: readonly string[];
}


/** -1 when a is better than b beyond noise, 1 when worse, 0 for a tie. Lower is better for loss. */
export function compareMeasure(measure: VerdictMeasure, a: number, b: number, n: number): -1 | 0 | 1 {
  if (measure === 'heldout_loss') {
    if (Math.abs(a - b) <= LOSS_TIE_REL * Math.min(Math.abs(a), Math.abs(b))) return 0;
    return a < b ? -1 : 1;
  }
  if (a === b) return 0;
  const p = (a + b) / 2;
  const margin = 1.96 * Math.sqrt((p * (1 - p) * 2) / Math.max(1, n));
  if (Math.abs(a - b) <= margin) return 0;
  return a > b ? -1 : 1;
}

type Label = (m: CompareModel) => string;

function fmt(measure: VerdictMeasure, v: number, n: number): string {
  return measure === 'heldout_loss' ? v.toFixed(3) : `${Math.round(v * n)}/${n}`;
}

const NAMES: Record<VerdictMeasure, string> = { heldout_loss: 'Held-out loss', exact_match: 'Exact match', check_rate: 'Check', preference_accuracy: 'Preference accuracy' };

function verdict(measure: VerdictMeasure, values: PerModel<number | null>, n: number, label: Label, name = NAMES[measure]): Verdict {
  const have = COMPARE_MODELS.filter((m) => values[m] !== null && Number.isFinite(values[m] as number));
  if (have.length === 0) return { measure, winner: null, best: [], text: `${name}: not measured.` };
  const v = (m: CompareModel): number => values[m] as number;
  const sorted = [...have].sort((a, b) => (measure === 'heldout_loss' ? v(a) - v(b) : v(b) - v(a)));
  const top = sorted[0] as CompareModel;
  const best = sorted.filter((m) => compareMeasure(measure, v(m), v(top), n) === 0);
  const how = measure === 'heldout_loss' ? 'lowest' : 'highest';
  if (best.length === 1) {
    const next = sorted[1];
    return { measure, winner: top, best, text: `${name}: ${label(top)} is ${how} (${fmt(measure, v(top), n)})${next ? `; next ${label(next)} (${fmt(measure, v(next), n)})` : ''}.` };
  }
  const list = best.map((m) => `${label(m)} (${fmt(measure, v(m), n)})`).join(', ');
  if (best.length === have.length) return { measure, winner: null, best, text: `${name}: no model is ${how} beyond noise (${list}).` };
  return { measure, winner: null, best, text: `${name}: ${list} tie within noise for ${how}.` };
}

/** Tuned models and the untuned model each starts from. */
const TUNED: readonly (readonly [CompareModel, CompareModel])[] = [
  ['instruct_shadow', 'instruct'],
  ['instruct_conventional', 'instruct'],
  ['base_lora', 'base'],
];

/**
 * The wording of a comparison's measures.
 * @param r per-model measures and the number of prompts the rates are over
 */
export function describeComparison(r: WordingInput): Wording {
  const n = r.eval_prompts;
  const labels = r.labels ?? COMPARE_MODEL_LABELS;
  const label: Label = (m) => labels[m];
  const hasCheck = r.checkRegex !== '';
  const pref = r.preference_accuracy && COMPARE_MODELS.some((m) => r.preference_accuracy?.[m] != null) ? r.preference_accuracy : null;
  const pairs = r.heldout_examples ?? 0;
  const verdicts: Verdict[] = [];
  if (pref) verdicts.push(verdict('preference_accuracy', pref, pairs, label));
  verdicts.push(verdict('heldout_loss', r.heldout_loss, n, label, pref ? 'Held-out loss on the chosen answers' : NAMES.heldout_loss), verdict('exact_match', r.exact_match, n, label));
  if (hasCheck) verdicts.push(verdict('check_rate', r.check_rate, n, label));
  const disagreements: string[] = [];
  const loss = (m: CompareModel): number | null => r.heldout_loss[m];
  const check = (m: CompareModel): number | null => (hasCheck ? r.check_rate[m] : null);
  const re = JSON.stringify(r.checkRegex);
  for (const [tuned, from] of TUNED) {
    const lt = loss(tuned);
    const lf = loss(from);
    const ct = check(tuned);
    const cf = check(from);
    if (lt === null || lf === null || ct === null || cf === null) continue;
    if (compareMeasure('heldout_loss', lt, lf, n) === -1 && compareMeasure('check_rate', ct, cf, n) !== -1) {
      disagreements.push(
        `${label(tuned)} lowers the held-out loss of ${label(from)} (${lf.toFixed(3)} → ${lt.toFixed(3)}), but its answers do not pass the check ${re} more often beyond noise (${fmt('check_rate', ct, n)} vs ${fmt('check_rate', cf, n)}): the lower loss alone does not show that it learned the task's format.`,
      );
    }
  }
  const ls = loss('instruct_shadow');
  const lc = loss('instruct_conventional');
  const cs = check('instruct_shadow');
  const cc = check('instruct_conventional');
  if (ls !== null && lc !== null && cs !== null && cc !== null) {
    const byLoss = compareMeasure('heldout_loss', ls, lc, n);
    const byCheck = compareMeasure('check_rate', cs, cc, n);
    if (byLoss !== 0 && byCheck !== 0 && byLoss !== byCheck) {
      const [lw, cw] = byLoss === -1 ? ['instruct_shadow', 'instruct_conventional'] as const : ['instruct_conventional', 'instruct_shadow'] as const;
      disagreements.push(`Loss and the check disagree: ${label(lw)} has the lower held-out loss, ${label(cw)} passes the check more often.`);
    }
  }
  const notes = [
    `Ties: held-out losses within ${LOSS_TIE_REL * 100}% of each other; rates over ${n} prompts within 1.96 standard errors of their difference.`,
  ];
  if (n > 0 && n < 20) notes.push(`With only ${n} prompts, rates that differ by a few answers cannot be told apart; raise Eval prompts for a firmer answer.`);
  if (n === 0) notes.push('No prompts were generated for, so exact match and the check were not measured.');
  if (!hasCheck) notes.push('No check regex was given, so the format check was not measured.');
  if (pref) notes.push(`Preference accuracy: the fraction of the ${pairs} held-out pairs whose chosen answer gets the higher implicit reward, each model's rewards taken against the same model without its tuning, so ${label('instruct')} and ${label('base')} score 0 by construction; a rate over ${pairs} pairs under the same tie rule.`);
  return { verdicts, disagreements, notes };
}
