/**
 * Error measures for the fixture self-test (tolerances from shared/fixtures/README.md "Tolerances").
 */

/** One checked quantity: its errors against the golden values, the tolerance rule and the verdict. */
export interface CheckRow {
  /** e.g. "logits", "loss", "grad/step1/base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight" */
  readonly quantity: string;
  readonly maxAbs: number;
  /** max |got − want| / max |want| over the tensor */
  readonly maxRel: number;
  /** human-readable rule, e.g. "abs ≤ 2e-4" */
  readonly tolerance: string;
  readonly pass: boolean;
}

/** Largest absolute difference and the largest |want| (for a relative figure). */
export function errors(got: ArrayLike<number>, want: ArrayLike<number>, mask?: (i: number) => boolean): { maxAbs: number; maxRef: number } {
  if (got.length !== want.length) throw new Error(`length ${got.length} ≠ expected ${want.length}`);
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) {
    if (mask && !mask(i)) continue;
    const d = Math.abs((got[i] as number) - (want[i] as number));
    if (!(d <= maxAbs)) maxAbs = d; // NaN propagates
    maxRef = Math.max(maxRef, Math.abs(want[i] as number));
  }
  return { maxAbs, maxRef };
}

/** Row for a rule |got − want| ≤ atol everywhere (optionally masked). */
export function absRow(quantity: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, mask?: (i: number) => boolean): CheckRow {
  const { maxAbs, maxRef } = errors(got, want, mask);
  return { quantity, maxAbs, maxRel: maxRef ? maxAbs / maxRef : maxAbs, tolerance: `abs ≤ ${atol}`, pass: maxAbs <= atol };
}

/** Row for a rule max|got − want| ≤ rel · max|want| + floor (per-tensor gradients). */
export function relToMaxRow(quantity: string, got: ArrayLike<number>, want: ArrayLike<number>, rel: number, floor: number): CheckRow {
  const { maxAbs, maxRef } = errors(got, want);
  const tol = rel * maxRef + floor;
  return { quantity, maxAbs, maxRel: maxRef ? maxAbs / maxRef : maxAbs, tolerance: `max abs ≤ ${rel}·max|ref| + ${floor}`, pass: maxAbs <= tol };
}

/** Row for a scalar with a relative rule |got − want| ≤ rel·|want|. */
export function scalarRelRow(quantity: string, got: number, want: number, rel: number): CheckRow {
  const d = Math.abs(got - want);
  return { quantity, maxAbs: d, maxRel: d / Math.abs(want), tolerance: `rel ≤ ${rel}`, pass: d <= rel * Math.abs(want) };
}
