/**
 * Logit soft-capping in place, x ← cap·tanh(x/cap) (Gemma `final_logit_softcapping`, HF Gemma3ForCausalLM.forward),
 * for the generation head's logits. Shader: shaders/softcap.wgsl (one thread per element). The training loss head
 * applies the same cap inside the chunked cross-entropy (kernels/crossEntropyChunk.ts).
 */
import code from '../../../shaders/softcap.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';
import { requireBinding, requireSizes } from '../gpu/check';

const WG = 256;

/** Arguments of {@link softcapInPlace}. */
export interface SoftcapArgs {
  /** Elements (V for one row of logits, M·V for several). */
  readonly n: number;
  /** The cap (config final_logit_softcapping), finite and > 0; used as an f32. */
  readonly cap: number;
  /** f32 [n], overwritten with cap·tanh(x/cap). */
  readonly x: Binding;
}

/**
 * Throws unless `cap` is a finite number > 0 that stays so as an f32 (a cap of 0 or null means "no capping" in HF
 * configs: the caller then passes no cap at all).
 * @throws Error naming the kernel and the value.
 */
export function requireSoftcap(kernel: string, cap: number): void {
  const f = Math.fround(cap);
  if (!(f > 0 && Number.isFinite(f))) throw new Error(`${kernel}: softcap = ${cap}; expected a finite number > 0 (final_logit_softcapping), or no softcap`);
}

/**
 * Records x[i] ← cap·tanh(x[i]/cap) for i < n.
 * @throws Error naming the tensor when x holds fewer than n floats, or for an invalid cap; DeviceLimitError when
 *   n·4 bytes exceed maxStorageBufferBindingSize.
 */
export function softcapInPlace(ctx: GpuContext, enc: GPUCommandEncoder, args: SoftcapArgs): void {
  const { n, cap } = args;
  requireSizes('softcap', { n });
  requireSoftcap('softcap', cap);
  requireBinding(ctx, 'softcap', `x [n=${n}] f32`, args.x, n * 4);
  const spec: KernelSpec = { label: 'softcap.forward', code, entryPoint: 'forward', bindings: ['uniform', 'rw'], constants: { WG, CAP: Math.fround(cap) } };
  dispatch(ctx, enc, spec, [uniform(ctx, packUniform([{ u32: n }]), 'softcap.params'), args.x], linearGrid(ctx, n, WG));
}
