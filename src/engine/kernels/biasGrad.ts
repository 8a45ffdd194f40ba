/**
 * Bias gradient of a linear y = x Wᵀ + b (torch nn.Linear backward): db[n] (+)= Σ_m dy[m, n].
 * Shader: shaders/bias_grad.wgsl (one thread per column, rows summed in order: deterministic).
 */
import code from '../../../shaders/bias_grad.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { requireBinding, requireSizes } from '../gpu/check';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';

const WG = 64;

/** Arguments of {@link biasGrad}. */
export interface BiasGradArgs {
  /** rows of dy (tokens) */
  readonly M: number;
  /** columns of dy (out_features) */
  readonly N: number;
  /** f32 [M, N], ∂L/∂y */
  readonly dy: Binding;
  /** f32 [N], ∂L/∂b (written, or added to when accumulate) */
  readonly db: Binding;
  /** db += … (micro-batches add up) */
  readonly accumulate?: boolean;
}

/**
 * Records db (=|+=) the column sums of dy.
 * @throws Error naming the tensor when a binding is too small or a size is not an integer; DeviceLimitError when a
 *   tensor exceeds maxStorageBufferBindingSize.
 */
export function biasGrad(ctx: GpuContext, enc: GPUCommandEncoder, args: BiasGradArgs): void {
  const { M, N } = args;
  requireSizes('bias_grad', { M, N });
  requireBinding(ctx, 'bias_grad', `dy [M=${M}, N=${N}] f32`, args.dy, M * N * 4);
  requireBinding(ctx, 'bias_grad', `db [N=${N}] f32`, args.db, N * 4);
  const spec: KernelSpec = { label: 'bias_grad.backward', code, entryPoint: 'backward', bindings: ['uniform', 'read', 'rw'], constants: { WG, ACCUMULATE: args.accumulate ? 1 : 0 } };
  dispatch(ctx, enc, spec, [uniform(ctx, packUniform([{ u32: M }, { u32: N }]), 'bias_grad.params'), args.dy, args.db], linearGrid(ctx, N, WG));
}
