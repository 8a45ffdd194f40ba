/**
 * matvec kernel wrapper (shaders/matvec.wgsl): y[N] (=|+=) alpha·x·Wᵀ (+ bias) for ONE row x [K] — a linear layer on
 * the single token of a generation decode step. W [N, K] packed (nn.Linear layout, torch `F.linear`), bf16/f16/f32.
 * Same contract as kernels/matmul.ts with M = 1 and transB, but a different summation order over K (64 strided
 * partial sums, then a tree), so results differ from the matmul in the last bits (tests/gpu/matvec.test.ts).
 */
import code from '../../../shaders/matvec.wgsl?raw';
import type { WeightDType } from '../../io/dtype';
import type { GpuContext } from '../gpu/context';
import { createStorage, packUniform, uniform } from '../gpu/buffers';
import { requireBinding, requireSizes } from '../gpu/check';
import { dispatch, linearGrid, type Binding } from '../gpu/pipeline';
import { packedBytes, weightDtypeCode } from '../gpu/weights';

/** Arguments of {@link matvec}. */
export interface MatvecArgs {
  /** outputs (rows of W) */
  readonly N: number;
  /** inputs (cols of W) */
  readonly K: number;
  /** f32 [K] */
  readonly x: Binding;
  /** packed [N, K] of dtype wDtype */
  readonly w: Binding;
  readonly wDtype: WeightDType;
  /** f32 [N] */
  readonly y: Binding;
  /** y += … instead of y = … */
  readonly accumulate?: boolean;
  /** scale of the product (default 1); the bias is not scaled */
  readonly alpha?: number;
  /** f32 [N] */
  readonly bias?: Binding;
}

const dummies = new WeakMap<GPUDevice, GPUBuffer>();

/**
 * Records y (=|+=) alpha·x·Wᵀ (+ bias): one workgroup of 64 threads per 4 outputs.
 * @throws Error naming the tensor when a size is not a positive integer, alpha is not finite or a binding is too
 *   small; DeviceLimitError when a tensor exceeds maxStorageBufferBindingSize.
 */
export function matvec(ctx: GpuContext, enc: GPUCommandEncoder, a: MatvecArgs): void {
  const label = 'matvec';
  requireSizes(label, { N: a.N, K: a.K });
  if (a.N < 1 || a.K < 1) throw new Error(`${label}: N = ${a.N}, K = ${a.K}; both must be ≥ 1`);
  const alpha = a.alpha ?? 1;
  if (!Number.isFinite(alpha)) throw new Error(`${label}: alpha = ${alpha}; expected a finite number`);
  requireBinding(ctx, label, `x [K=${a.K}] f32`, a.x, a.K * 4);
  requireBinding(ctx, label, `w [N=${a.N}, K=${a.K}] ${a.wDtype}`, a.w, Math.ceil(packedBytes(a.wDtype, a.N * a.K) / 4) * 4);
  requireBinding(ctx, label, `y [N=${a.N}] f32`, a.y, a.N * 4);
  if (a.bias) requireBinding(ctx, label, `bias [N=${a.N}] f32`, a.bias, a.N * 4);
  let bias = a.bias;
  if (!bias) {
    let d = dummies.get(ctx.device);
    if (!d) dummies.set(ctx.device, (d = createStorage(ctx, 4, 'matvec.noBias')));
    bias = d;
  }
  const groups = Math.ceil(a.N / 4);
  const params = uniform(ctx, packUniform([{ u32: a.N }, { u32: a.K }, { f32: alpha }, { u32: groups }]), `${label}.params`);
  const spec = {
    label, code, entryPoint: 'matvec', bindings: ['uniform', 'read', 'read', 'read', 'rw'] as const,
    constants: { W_DTYPE: weightDtypeCode(a.wDtype), HAS_BIAS: a.bias ? 1 : 0, ACCUMULATE: a.accumulate ? 1 : 0 },
  };
  dispatch(ctx, enc, spec, [params, a.x, a.w, bias, a.y], linearGrid(ctx, groups, 1));
}
