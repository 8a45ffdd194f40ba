/**
 * SwiGLU kernel wrappers (HF LlamaMLP: act_fn(gate_proj(x)) * up_proj(x) with SiLU): h = silu(g) ⊙ u.
 * Shader: shaders/swiglu.wgsl (one thread per element).
 */
import code from '../../../shaders/swiglu.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';
import { requireBinding, requireSizes } from '../gpu/check';

const WG = 256;
const forwardSpec: KernelSpec = { label: 'swiglu.forward', code, entryPoint: 'forward', bindings: ['uniform', 'read', 'read', 'rw'], constants: { WG } };
const backwardSpec: KernelSpec = { label: 'swiglu.backward', code, entryPoint: 'backward', bindings: ['uniform', 'read', 'read', 'read', 'rw', 'rw'], constants: { WG } };

function check(ctx: GpuContext, kernel: string, n: number, tensors: Record<string, Binding>): void {
  requireSizes(kernel, { n });
  for (const [name, b] of Object.entries(tensors)) requireBinding(ctx, kernel, `${name} [n=${n}] f32`, b, n * 4);
}

/**
 * Records out = silu(gate) ⊙ up over n f32 elements (n = M·I).
 * @throws Error naming the tensor when a binding holds fewer than n floats; DeviceLimitError when n·4 bytes
 *   exceed maxStorageBufferBindingSize.
 */
export function swigluForward(ctx: GpuContext, enc: GPUCommandEncoder, args: { n: number; gate: Binding; up: Binding; out: Binding }): void {
  check(ctx, 'swiglu.forward', args.n, { gate: args.gate, up: args.up, out: args.out });
  const params = uniform(ctx, packUniform([{ u32: args.n }]), 'swiglu.params');
  dispatch(ctx, enc, forwardSpec, [params, args.gate, args.up, args.out], linearGrid(ctx, args.n, WG));
}

/**
 * Records dgate = dout ⊙ up ⊙ silu'(gate) and dup = dout ⊙ silu(gate), silu'(z) = σ(z)(1 + z(1 − σ(z))).
 * Both outputs are overwritten.
 * @throws Error naming the tensor when a binding holds fewer than n floats; DeviceLimitError as forward.
 */
export function swigluBackward(
  ctx: GpuContext,
  enc: GPUCommandEncoder,
  args: { n: number; gate: Binding; up: Binding; dout: Binding; dgate: Binding; dup: Binding },
): void {
  check(ctx, 'swiglu.backward', args.n, { gate: args.gate, up: args.up, dout: args.dout, dgate: args.dgate, dup: args.dup });
  const params = uniform(ctx, packUniform([{ u32: args.n }]), 'swiglu.params');
  dispatch(ctx, enc, backwardSpec, [params, args.gate, args.up, args.dout, args.dgate, args.dup], linearGrid(ctx, args.n, WG));
}
