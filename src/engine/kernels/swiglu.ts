/**
 * Gated MLP activation wrappers, h = act(g) ⊙ u (the act_fn(gate_proj(x)) * up_proj(x) of HF LlamaMLP / Gemma3MLP):
 * act 'silu' (SwiGLU, the default) or 'gelu_tanh' (GeGLU, HF `gelu_pytorch_tanh`, Gemma 3).
 * Shader: shaders/swiglu.wgsl (one thread per element; the activation is the ACT override constant).
 */
import code from '../../../shaders/swiglu.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';
import { requireBinding, requireSizes } from '../gpu/check';

/**
 * The gate activation: 'silu' = z·σ(z) (HF "silu", Llama/Mistral/Qwen); 'gelu_tanh' = 0.5·z·(1 + tanh(√(2/π)·(z +
 * 0.044715·z³))) (HF "gelu_pytorch_tanh", torch gelu(approximate="tanh"), Gemma 3).
 */
export type GluActivation = 'silu' | 'gelu_tanh';

const WG = 256;

function specsOf(act: GluActivation, ACT: number): { forward: KernelSpec; backward: KernelSpec } {
  // The silu specs keep their label and constants, so the pipeline is the one used before GeGLU existed.
  const constants: Readonly<Record<string, number>> = act === 'silu' ? { WG } : { WG, ACT };
  const tag = act === 'silu' ? '' : `.${act}`;
  return {
    forward: { label: `swiglu.forward${tag}`, code, entryPoint: 'forward', bindings: ['uniform', 'read', 'read', 'rw'], constants },
    backward: { label: `swiglu.backward${tag}`, code, entryPoint: 'backward', bindings: ['uniform', 'read', 'read', 'read', 'rw', 'rw'], constants },
  };
}

/** The kernel specs per activation (ACT override: 0 silu, 1 gelu_tanh). */
const SPECS: Readonly<Record<GluActivation, { forward: KernelSpec; backward: KernelSpec }>> = { silu: specsOf('silu', 0), gelu_tanh: specsOf('gelu_tanh', 1) };

function specs(act: GluActivation | undefined, kernel: string): { forward: KernelSpec; backward: KernelSpec } {
  const s = Object.hasOwn(SPECS, act ?? 'silu') ? SPECS[act ?? 'silu'] : undefined;
  if (!s) throw new Error(`${kernel}: act = ${String(act)}; expected 'silu' or 'gelu_tanh'`);
  return s;
}

function check(ctx: GpuContext, kernel: string, n: number, tensors: Record<string, Binding>): void {
  requireSizes(kernel, { n });
  for (const [name, b] of Object.entries(tensors)) requireBinding(ctx, kernel, `${name} [n=${n}] f32`, b, n * 4);
}

/** Arguments of {@link swigluForward}. */
export interface GluForwardArgs {
  /** Elements (M·I). */
  readonly n: number;
  /** f32 [n]: gate_proj(x). */
  readonly gate: Binding;
  /** f32 [n]: up_proj(x). */
  readonly up: Binding;
  /** f32 [n], written: act(gate) ⊙ up. */
  readonly out: Binding;
  /** Gate activation; default 'silu'. */
  readonly act?: GluActivation;
}

/** Arguments of {@link swigluBackward}. */
export interface GluBackwardArgs {
  readonly n: number;
  /** f32 [n], the forward's gate. */
  readonly gate: Binding;
  /** f32 [n], the forward's up. */
  readonly up: Binding;
  /** f32 [n], ∂L/∂out. */
  readonly dout: Binding;
  /** f32 [n], written: ∂L/∂gate. */
  readonly dgate: Binding;
  /** f32 [n], written: ∂L/∂up. */
  readonly dup: Binding;
  /** Gate activation, as in the forward; default 'silu'. */
  readonly act?: GluActivation;
}

/**
 * Records out = act(gate) ⊙ up over n f32 elements (n = M·I), act = silu (default) or gelu_tanh.
 * @throws Error naming the tensor when a binding holds fewer than n floats, or for an unknown act; DeviceLimitError
 *   when n·4 bytes exceed maxStorageBufferBindingSize.
 */
export function swigluForward(ctx: GpuContext, enc: GPUCommandEncoder, args: GluForwardArgs): void {
  const spec = specs(args.act, 'swiglu.forward').forward;
  check(ctx, 'swiglu.forward', args.n, { gate: args.gate, up: args.up, out: args.out });
  const params = uniform(ctx, packUniform([{ u32: args.n }]), 'swiglu.params');
  dispatch(ctx, enc, spec, [params, args.gate, args.up, args.out], linearGrid(ctx, args.n, WG));
}

/**
 * Records dgate = dout ⊙ up ⊙ act'(gate) and dup = dout ⊙ act(gate), both overwritten:
 * silu'(z) = σ(z)(1 + z(1 − σ(z))); gelu_tanh'(z) = σ(2u) + z·σ(2u)(1 − σ(2u))·2√(2/π)(1 + 3·0.044715·z²),
 * u = √(2/π)(z + 0.044715·z³) (the exact derivative; 0.5(1 + tanh u) = σ(2u)).
 * @throws Error naming the tensor when a binding holds fewer than n floats, or for an unknown act; DeviceLimitError as forward.
 */
export function swigluBackward(ctx: GpuContext, enc: GPUCommandEncoder, args: GluBackwardArgs): void {
  const spec = specs(args.act, 'swiglu.backward').backward;
  check(ctx, 'swiglu.backward', args.n, { gate: args.gate, up: args.up, dout: args.dout, dgate: args.dgate, dup: args.dup });
  const params = uniform(ctx, packUniform([{ u32: args.n }]), 'swiglu.params');
  dispatch(ctx, enc, spec, [params, args.gate, args.up, args.dout, args.dgate, args.dup], linearGrid(ctx, args.n, WG));
}
