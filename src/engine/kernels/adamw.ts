/**
 * AdamW optimizer step with global-norm gradient clipping, on flat f32 buffers. Shader: shaders/adamw.wgsl.
 * Sources: torch/optim/adamw.py (`_single_tensor_adamw`, decoupled weight decay, Loshchilov & Hutter 2019),
 * torch/nn/utils/clip_grad.py (`clip_grad_norm_`: coef = max_norm / (total_norm + 1e-6), clamped to ≤ 1).
 */
import code from '../../../shaders/adamw.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { requireBinding } from '../gpu/check';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';

const WG = 256;
const spec: KernelSpec = { label: 'adamw.step', code, entryPoint: 'step', bindings: ['uniform', 'rw', 'read', 'rw', 'rw', 'read'], constants: { WG } };

/** Arguments of one AdamW step (torch.optim.AdamW names; lr already scheduled for this step). */
export interface AdamWStepArgs {
  /** Number of f32 parameters. */
  readonly n: number;
  /** f32 [n], updated in place. */
  readonly params: Binding;
  /** f32 [n], raw gradients (before clipping; not modified). */
  readonly grads: Binding;
  /** f32 [n], first moment (exp_avg), zero before step 1; updated in place. */
  readonly m: Binding;
  /** f32 [n], second moment (exp_avg_sq), zero before step 1; updated in place. */
  readonly v: Binding;
  /** f32 [1]: Σ g² over every trained tensor (e.g. from sumOfSquares). Read only when maxGradNorm > 0. */
  readonly gradNormSq: Binding;
  /** Clip the global L2 norm to this value; ≤ 0 disables clipping. */
  readonly maxGradNorm: number;
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** 1-based step count t (bias corrections 1 − beta^t). */
  readonly step: number;
}

/**
 * Records one AdamW step: coef = maxGradNorm > 0 ? min(1, maxGradNorm / (sqrt(gradNormSq) + 1e-6)) : 1;
 * g = grads·coef; p ← p·(1 − lr·wd); m ← b1·m + (1−b1)·g; v ← b2·v + (1−b2)·g²;
 * p ← p − (lr / (1 − b1^t))·m / (sqrt(v)/sqrt(1 − b2^t) + eps). Scalars are computed here in f64, passed as f32.
 * @throws Error naming the argument when n or step is not a positive integer, a hyper-parameter is out of range
 *   (lr ≥ 0, 0 ≤ beta < 1, eps > 0, weightDecay ≥ 0, all finite) or a buffer is too small; DeviceLimitError
 *   when a buffer exceeds maxStorageBufferBindingSize.
 */
export function adamwStep(ctx: GpuContext, enc: GPUCommandEncoder, args: AdamWStepArgs): void {
  const { n, lr, beta1, beta2, eps, weightDecay, step, maxGradNorm } = args;
  const where = 'adamw.step';
  if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(step) || step < 1) throw new Error(`${where}: step must be a 1-based integer, got ${step}`);
  if (!(lr >= 0 && Number.isFinite(lr))) throw new Error(`${where}: lr must be finite and ≥ 0, got ${lr}`);
  if (!(beta1 >= 0 && beta1 < 1)) throw new Error(`${where}: beta1 must be in [0, 1), got ${beta1}`);
  if (!(beta2 >= 0 && beta2 < 1)) throw new Error(`${where}: beta2 must be in [0, 1), got ${beta2}`);
  if (!(eps > 0 && Number.isFinite(eps))) throw new Error(`${where}: eps must be finite and > 0, got ${eps}`);
  if (!(weightDecay >= 0 && Number.isFinite(weightDecay))) throw new Error(`${where}: weightDecay must be finite and ≥ 0, got ${weightDecay}`);
  if (!Number.isFinite(maxGradNorm)) throw new Error(`${where}: maxGradNorm must be finite (≤ 0 disables clipping), got ${maxGradNorm}`);
  for (const [name, b] of [['params', args.params], ['grads', args.grads], ['m', args.m], ['v', args.v]] as const)
    requireBinding(ctx, where, `${name} [n=${n}] f32`, b, n * 4);
  requireBinding(ctx, where, 'gradNormSq [1] f32', args.gradNormSq, 4);
  const uni = packUniform([
    { u32: n },
    { f32: maxGradNorm },
    { f32: 1 - lr * weightDecay },
    { f32: beta1 },
    { f32: 1 - beta1 },
    { f32: beta2 },
    { f32: 1 - beta2 },
    { f32: lr / (1 - beta1 ** step) },
    { f32: Math.sqrt(1 - beta2 ** step) },
    { f32: eps },
  ]);
  dispatch(ctx, enc, spec, [uniform(ctx, uni, `${where}.params`), args.params, args.grads, args.m, args.v, args.gradNormSq], linearGrid(ctx, n, WG));
}
