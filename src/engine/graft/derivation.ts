/**
 * Does TUNED derive from this Base? The check before a full graft W_I + (W_B′ − W_B), designed from what tuning does
 * to weights rather than from how far it goes (a 20-step LoRA tune of the demo Base already moves it half as far as
 * Base → Instruct, and longer runs go further, so a bound on σ(W_B′, W_B) / σ(W_B, W_I) refuses honest tunes).
 * Per tensor, with σ(X, Y) = Σ|X − Y| / (Σ|X| + Σ|Y|) (Shadow-FT §2.3):
 * - **closer to the Base than to the Instruct**: σ(W_B′, W_B) < σ(W_B′, W_I). Tuning adds an update Δ that does not
 *   know the Instruct's own update D = W_I − W_B; for Δ symmetric about 0 and independent of D, E|Δ − D| ≥ E|Δ|
 *   elementwise (the median of Δ minimises E|Δ − d|), so an honest tune of the Base stays closer to the Base. The
 *   Instruct itself (σ(W_B′, W_I) = 0) and a tune of the Instruct (the conventional run) are closer to the Instruct.
 *   Tensors where σ(W_B′, W_B) = σ(W_B′, W_I) (e.g. where Base and Instruct are equal) decide nothing.
 * - **near the Base**: σ(W_B′, W_B) < {@link UNRELATED_SIGMA}. Two independent tensors of one zero-centred
 *   distribution have σ = E|x − y| / (2·E|x|): √2/2 ≈ 0.71 for Gaussian weights, 2/3 for uniform ones, 3/4 for
 *   Laplace ones; an unrelated model of the same shapes (another pre-training, a random init) sits there, while a tune
 *   that changed weights by a quarter of their magnitude would no longer be the Base's model at all.
 * TUNED passes when each holds on more than half of the deciding tensors it changed (layer tensors, `model.layers.N.`,
 * as the paper's figure; all tensors when the model has none). A TUNED equal to the Base passes (the graft is then the
 * Instruct). The verdict carries the counts so the refusal says which test failed and by how much.
 */
import type { SimilarityReport, SimilarityRow } from '../analysis/similarity';

/** σ(W_B′, W_B) at or above which a tensor is as far from the Base as unrelated weights are (see the file comment). */
export const UNRELATED_SIGMA = 0.25;

/** What the derivation check found (counts over the layer tensors, or all tensors when there are none). */
export interface DerivationVerdict {
  /** Tensors whose σ(W_B′, W_B) > 0. */
  readonly changed: number;
  /** Changed tensors with σ(W_B′, W_B) ≠ σ(W_B′, W_I): the ones that decide "closer to". */
  readonly deciding: number;
  /** Deciding tensors with σ(W_B′, W_B) < σ(W_B′, W_I). */
  readonly closerToBase: number;
  /** Changed tensors with σ(W_B′, W_B) < UNRELATED_SIGMA. */
  readonly nearBase: number;
  /** Unweighted means over the same tensors: σ(W_B′, W_B) and σ(W_B′, W_I) (null when none). */
  readonly meanToBase: number | null;
  readonly meanToInstruct: number | null;
  /** Why TUNED is refused, or null when it passes. */
  readonly refusal: string | null;
}

const fmt = (x: number | null): string => (x === null ? 'n/a' : x.toPrecision(3));

/**
 * Judges TUNED from its σ against the Base and against the Instruct.
 * @param toBase σ(W_B′, W_B) per tensor (computeSimilarity(Base, TUNED)).
 * @param toInstruct σ(W_B′, W_I) per tensor (computeSimilarity(TUNED, Instruct)); tensors are matched by name.
 * @param names how the refusal names TUNED and the Base, e.g. { tuned: 'my-run', base: 'Qwen3-8B-Base' }.
 * @throws Error when a tensor of `toBase` has no row in `toInstruct` (the callers check the tensor lists first).
 */
export function judgeDerivation(toBase: SimilarityReport, toInstruct: SimilarityReport, names: { readonly tuned: string; readonly base: string; readonly instruct: string }): DerivationVerdict {
  const ti = new Map(toInstruct.rows.map((r) => [r.tensor, r.sigma]));
  const layerRows = toBase.rows.filter((r) => r.layer !== null);
  const rows: readonly SimilarityRow[] = layerRows.length ? layerRows : toBase.rows;
  let changed = 0;
  let deciding = 0;
  let closerToBase = 0;
  let nearBase = 0;
  let sumB = 0;
  let sumI = 0;
  for (const r of rows) {
    const toI = ti.get(r.tensor);
    if (toI === undefined) throw new Error(`judgeDerivation: tensor ${r.tensor} has no σ against ${names.instruct}`);
    sumB += r.sigma;
    sumI += toI;
    if (r.sigma === 0) continue;
    changed++;
    if (r.sigma < UNRELATED_SIGMA) nearBase++;
    if (r.sigma !== toI) {
      deciding++;
      if (r.sigma < toI) closerToBase++;
    }
  }
  const meanToBase = rows.length ? sumB / rows.length : null;
  const meanToInstruct = rows.length ? sumI / rows.length : null;
  const means = `mean σ(TUNED, Base) = ${fmt(meanToBase)}, σ(TUNED, Instruct) = ${fmt(meanToInstruct)}`;
  let refusal: string | null = null;
  if (changed > 0 && nearBase * 2 <= changed) {
    refusal = `${names.tuned} is not ${names.base} after tuning: σ(TUNED, Base) ≥ ${UNRELATED_SIGMA} on ${changed - nearBase} of the ${changed} tensors it changed (${means}); unrelated weights give ≈ 0.7, a tune of this Base far less. Is TUNED another model?`;
  } else if (deciding > 0 && closerToBase * 2 <= deciding) {
    refusal = `${names.tuned} is closer to the Instruct (${names.instruct}) than to the Base (${names.base}) on ${deciding - closerToBase} of the ${deciding} tensors it changed (${means}): it is the Instruct or a tune of it, and grafting it would add the Instruct's own update twice. Graft a tune of the Base.`;
  }
  return { changed, deciding, closerToBase, nearBase, meanToBase, meanToInstruct, refusal };
}
