/**
 * CPU f64 reference of one torch.optim.AdamW step (decoupled weight decay, amsgrad off;
 * torch/optim/adamw.py `_single_tensor_adamw`) preceded by torch.nn.utils.clip_grad_norm_'s coefficient.
 * Used by tests to check shaders/adamw.wgsl and the fixture replay; not on the training path.
 */

/** AdamW hyper-parameters (torch names); maxGradNorm ≤ 0 disables clipping. */
export interface AdamWRefHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
}

/** Optimizer state, updated in place: params, exp_avg (m) and exp_avg_sq (v), all [n]. */
export interface AdamWRefState {
  readonly params: Float64Array;
  readonly m: Float64Array;
  readonly v: Float64Array;
}

/**
 * clip_grad_norm_ coefficient: min(1, maxGradNorm / (sqrt(gradNormSq) + 1e-6)), or 1 when maxGradNorm ≤ 0.
 * @param gradNormSq Σ g² over every trained tensor.
 */
export function clipCoefRef(gradNormSq: number, maxGradNorm: number): number {
  return maxGradNorm > 0 ? Math.min(1, maxGradNorm / (Math.sqrt(gradNormSq) + 1e-6)) : 1;
}

/**
 * One AdamW step in f64, in place on `state`: g = grads·coef; p ← p(1 − lr·wd); m ← b1·m + (1 − b1)g;
 * v ← b2·v + (1 − b2)g²; p ← p − (lr / (1 − b1^t))·m / (sqrt(v)/sqrt(1 − b2^t) + eps).
 * @param grads raw gradients [n] (before clipping); gradNormSq = Σ grads² (all tensors); step t is 1-based.
 * @throws Error when lengths differ or step is not a positive integer.
 */
export function adamwStepRef(state: AdamWRefState, grads: ArrayLike<number>, gradNormSq: number, h: AdamWRefHyper, step: number): void {
  const n = state.params.length;
  if (state.m.length !== n || state.v.length !== n || grads.length !== n) throw new Error(`reference/adamw: params, m, v, grads must all have ${n} values`);
  if (!Number.isInteger(step) || step < 1) throw new Error(`reference/adamw: step must be a 1-based integer, got ${step}`);
  const coef = clipCoefRef(gradNormSq, h.maxGradNorm);
  const stepSize = h.lr / (1 - h.beta1 ** step);
  const bc2Sqrt = Math.sqrt(1 - h.beta2 ** step);
  for (let i = 0; i < n; i++) {
    const g = (grads[i] as number) * coef;
    const m = h.beta1 * (state.m[i] as number) + (1 - h.beta1) * g;
    const v = h.beta2 * (state.v[i] as number) + (1 - h.beta2) * g * g;
    state.m[i] = m;
    state.v[i] = v;
    state.params[i] = (state.params[i] as number) * (1 - h.lr * h.weightDecay) - (stepSize * m) / (Math.sqrt(v) / bc2Sqrt + h.eps);
  }
}
