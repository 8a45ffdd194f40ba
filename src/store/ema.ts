/**
 * Exponential moving average of a loss curve with bias correction (TensorBoard's scalar smoothing):
 * m_k = w·m_{k−1} + (1 − w)·x_k, m_0 = 0, reported as m_k / (1 − w^k).
 */

/** Smoothed values, one per input; `weight` w ∈ [0, 1) (0 = no smoothing). Non-finite inputs are skipped (NaN out). */
export function emaSmooth(values: readonly number[], weight = 0.9): number[] {
  let m = 0;
  let n = 0;
  return values.map((x) => {
    if (!Number.isFinite(x)) return NaN;
    n++;
    m = weight * m + (1 - weight) * x;
    return m / (1 - weight ** n);
  });
}
