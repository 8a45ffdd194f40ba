/**
 * Deterministic sum of squares (squared global L2 norm, as torch.nn.utils.clip_grad_norm_ with norm_type 2
 * before its sqrt). Shader: shaders/sumsq.wgsl.
 */
import code from '../../../shaders/sumsq.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, scratchBuffer, uniform } from '../gpu/buffers';
import { requireBinding } from '../gpu/check';
import { dispatch, type Binding, type KernelSpec } from '../gpu/pipeline';

const WG = 256;
/** Most first-pass workgroups (= partials); more elements are handled by striding. */
const MAX_GROUPS = 4096;
const partialsSpec: KernelSpec = { label: 'sumsq.partials', code, entryPoint: 'partials', bindings: ['uniform', 'read', 'rw'], constants: { WG } };
const totalSpec: KernelSpec = { label: 'sumsq.total', code, entryPoint: 'total', bindings: ['uniform', 'read', 'rw'], constants: { WG } };
const totalAccSpec: KernelSpec = { ...totalSpec, constants: { WG, ACCUMULATE: 1 } };
const sumPartialsSpec: KernelSpec = { ...partialsSpec, label: 'sum.partials', constants: { WG, SQUARE: 0 } };
const sumTotalSpec: KernelSpec = { ...totalSpec, label: 'sum.total' };
const sumTotalAccSpec: KernelSpec = { ...totalAccSpec, label: 'sum.total' };

type SumArgs = { readonly n: number; readonly x: Binding; readonly out: Binding; readonly accumulate?: boolean };

function record(ctx: GpuContext, enc: GPUCommandEncoder, args: SumArgs, what: string, specs: readonly [KernelSpec, KernelSpec, KernelSpec]): void {
  const { n } = args;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: n must be a positive integer, got ${n}`);
  requireBinding(ctx, what, `x [n=${n}] f32`, args.x, n * 4);
  requireBinding(ctx, what, 'out [1] f32', args.out, 4);
  const groups = Math.min(Math.ceil(n / WG), MAX_GROUPS);
  const partials = scratchBuffer(ctx, 'sumsq.partials', groups * 4);
  const params = uniform(ctx, packUniform([{ u32: n }, { u32: groups }]), `${what}.params`);
  dispatch(ctx, enc, specs[0], [params, args.x, partials], [groups]);
  dispatch(ctx, enc, args.accumulate ? specs[2] : specs[1], [params, partials, args.out], [1]);
}

/**
 * Records out[0] ← Σ_{i<n} x_i² (f32), in two passes over a fixed partition (bit-identical on every run):
 * G = min(⌈n/256⌉, 4096) workgroups write partial sums into a per-context scratch buffer (gpu/buffers.ts
 * scratchBuffer), then one workgroup adds the G partials. Each thread accumulates about n / (256·G) squares
 * in f32 before the tree reductions.
 * @param args.x f32 [≥ n]; args.out f32 [≥ 1] (element 0 overwritten, or increased by the sum when args.accumulate).
 * @throws Error when n is not a positive integer or a buffer is too small; DeviceLimitError when x exceeds
 *   maxStorageBufferBindingSize.
 */
export function sumOfSquares(ctx: GpuContext, enc: GPUCommandEncoder, args: SumArgs): void {
  record(ctx, enc, args, 'sumsq', [partialsSpec, totalSpec, totalAccSpec]);
}

/**
 * Records out[0] ← Σ_{i<n} x_i (f32), with the same fixed two-pass partition as {@link sumOfSquares} (bit-identical
 * run to run), e.g. the summed per-token losses of a micro-batch, accumulated over a step and read once.
 * @throws as {@link sumOfSquares}.
 */
export function sumValues(ctx: GpuContext, enc: GPUCommandEncoder, args: SumArgs): void {
  record(ctx, enc, args, 'sum', [sumPartialsSpec, sumTotalSpec, sumTotalAccSpec]);
}
