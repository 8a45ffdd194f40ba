/**
 * RoPE kernel wrappers (HF `rotate_half` layout, in place). Shader: shaders/rope.wgsl.
 * Source of the formula: transformers `modeling_llama.py` `rotate_half` / `apply_rotary_pos_emb`.
 */
import code from '../../../shaders/rope.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { requireBinding } from '../gpu/check';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';

const WG = 256;
const BINDINGS = ['uniform', 'read', 'read', 'rw'] as const;
const forwardSpec: KernelSpec = { label: 'rope.forward', code, entryPoint: 'forward', bindings: BINDINGS, constants: { WG } };
const backwardSpec: KernelSpec = { label: 'rope.backward', code, entryPoint: 'backward', bindings: BINDINGS, constants: { WG } };

/** Shapes and tables shared by forward and backward. */
export interface RopeArgs {
  /** Batch rows. */
  readonly B: number;
  /** Sequence length; row (b, t) is rotated by the angles of position t. */
  readonly T: number;
  /** Heads in the tensor (H for q, KV for k). */
  readonly nHeads: number;
  /** Head dim, even. */
  readonly D: number;
  /** f32 [T, D/2]: cos(t · inv_freq[d]). */
  readonly cos: Binding;
  /** f32 [T, D/2]: sin(t · inv_freq[d]). */
  readonly sin: Binding;
}

function record(ctx: GpuContext, enc: GPUCommandEncoder, spec: KernelSpec, a: RopeArgs, x: Binding, xName: string): void {
  for (const [k, v] of Object.entries({ B: a.B, T: a.T, nHeads: a.nHeads, D: a.D }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${spec.label}: ${k} must be a positive integer, got ${v}`);
  if (a.D % 2 !== 0) throw new Error(`${spec.label}: head dim D must be even for rotate_half, got ${a.D}`);
  const half = a.D / 2;
  requireBinding(ctx, spec.label, `cos [T=${a.T}, D/2=${half}] f32`, a.cos, a.T * half * 4);
  requireBinding(ctx, spec.label, `sin [T=${a.T}, D/2=${half}] f32`, a.sin, a.T * half * 4);
  requireBinding(ctx, spec.label, `${xName} [B=${a.B}, T=${a.T}, nHeads=${a.nHeads}, D=${a.D}] f32`, x, a.B * a.T * a.nHeads * a.D * 4);
  const n = a.B * a.T * a.nHeads * half;
  const params = uniform(ctx, packUniform([{ u32: n }, { u32: a.T }, { u32: a.nHeads }, { u32: half }]), `${spec.label}.params`);
  dispatch(ctx, enc, spec, [params, a.cos, a.sin, x], linearGrid(ctx, n, WG));
}

/**
 * Records x ← RoPE(x) in place: for d < D/2, x'[d] = x[d]·cos[t,d] − x[d+D/2]·sin[t,d] and
 * x'[d+D/2] = x[d+D/2]·cos[t,d] + x[d]·sin[t,d].
 * @param args.x f32 [B, T, nHeads, D], rotated in place.
 * @throws Error naming the argument when a size is not a positive integer, D is odd, or a buffer is too small;
 *   DeviceLimitError when x exceeds maxStorageBufferBindingSize.
 */
export function ropeForward(ctx: GpuContext, enc: GPUCommandEncoder, args: RopeArgs & { readonly x: Binding }): void {
  record(ctx, enc, forwardSpec, args, args.x, 'x');
}

/**
 * Records the RoPE backward in place: dx = Rᵀ·dy, the rotation by −angle (the transpose of a rotation).
 * @param args.dx f32 [B, T, nHeads, D]: holds dL/d(rotated x) on entry and dL/dx on exit.
 * @throws Error as {@link ropeForward}.
 */
export function ropeBackward(ctx: GpuContext, enc: GPUCommandEncoder, args: RopeArgs & { readonly dx: Binding }): void {
  record(ctx, enc, backwardSpec, args, args.dx, 'dx');
}
