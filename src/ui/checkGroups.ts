/**
 * Grouping of the GPU check's rows for display (pure functions). Rows whose quantity is "<prefix>/base_model.model.…"
 * (one per LoRA tensor: "grad/step1/…", "after/step1/…", "after/step2/…", "final/…") collapse into one summary per
 * prefix; every other row (logits, loss, loss_before_step/t, grad_norm_before_clip/t, sigma/…, merge/…) stays alone.
 */
import type { CheckRow } from '../worker/client';

/** A displayed item: a single row, or the per-tensor rows of one prefix with their worst errors. */
export type CheckItem =
  | { readonly kind: 'row'; readonly row: CheckRow }
  | {
      readonly kind: 'group';
      /** e.g. "grad/step1", "final" */
      readonly key: string;
      readonly rows: readonly CheckRow[];
      /** Largest maxAbs / maxRel of the group (NaN when any row is NaN). */
      readonly maxAbs: number;
      readonly maxRel: number;
      /** The rows' tolerance, or "per tensor: …" listing the distinct ones. */
      readonly tolerance: string;
      readonly failed: number;
    };

const TENSOR = '/base_model.model.';
/** Where an HF tensor name starts in a full-parameter row's quantity. */
const HF_TENSOR = /\/(model\.|lm_head\.)/;

/** The prefix of a per-tensor row ("grad/step1" of "grad/step1/base_model.model.…"), or null for other rows. */
export function groupKey(quantity: string): string | null {
  const i = quantity.indexOf(TENSOR);
  if (i > 0) return quantity.slice(0, i);
  // full-parameter rows (fixture case 6) name the HF tensor itself: "full_step/grad/step1/model.norm.weight"
  const j = quantity.search(HF_TENSOR);
  return j > 0 ? quantity.slice(0, j) : null;
}

/** max that propagates NaN (a NaN error must not hide behind a finite one). */
const maxNaN = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));

/** Groups `rows` into items, in the order each single row or each group first appears. */
export function groupCheckRows(rows: readonly CheckRow[]): CheckItem[] {
  const order: (CheckRow | string)[] = [];
  const groups = new Map<string, CheckRow[]>();
  for (const r of rows) {
    const key = groupKey(r.quantity);
    if (key === null) {
      order.push(r);
      continue;
    }
    const g = groups.get(key);
    if (g) g.push(r);
    else {
      groups.set(key, [r]);
      order.push(key);
    }
  }
  return order.map((o): CheckItem => {
    if (typeof o !== 'string') return { kind: 'row', row: o };
    const g = groups.get(o) as CheckRow[];
    const tols = [...new Set(g.map((r) => r.tolerance))];
    return {
      kind: 'group',
      key: o,
      rows: g,
      maxAbs: g.reduce((m, r) => maxNaN(m, r.maxAbs), 0),
      maxRel: g.reduce((m, r) => maxNaN(m, r.maxRel), 0),
      tolerance: tols.length === 1 ? (tols[0] as string) : `per tensor: ${tols.join('; ')}`,
      failed: g.filter((r) => !r.pass).length,
    };
  });
}

/** "grad/step1: 28 tensors, max rel err 3.12e-6, all pass" (or "…, 2 fail"). */
export function groupSummary(item: Extract<CheckItem, { kind: 'group' }>): string {
  const verdict = item.failed === 0 ? 'all pass' : `${item.failed} fail`;
  return `${item.key}: ${item.rows.length} tensors, max rel err ${formatErr(item.maxRel)}, ${verdict}`;
}

/** An error figure with 3 significant digits ("3.12e-6"), "0" for zero, "NaN" for NaN. */
export function formatErr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === 0) return '0';
  return x.toExponential(2).replace('e+', 'e');
}

/** Totals over models' rows: rows passed and failed. */
export function checkTotals(models: readonly { readonly rows: readonly CheckRow[] }[]): { passed: number; failed: number } {
  let passed = 0;
  let failed = 0;
  for (const m of models) {
    for (const r of m.rows) {
      if (r.pass) passed++;
      else failed++;
    }
  }
  return { passed, failed };
}
