/**
 * Fused cross-entropy kernel (HF `ForCausalLMLoss` per row: log-softmax over the full vocab, −100 ignored).
 * Shader: shaders/cross_entropy.wgsl. Source: transformers `loss/loss_utils.py` `ForCausalLMLoss`,
 * torch `nn.functional.cross_entropy` (ignore_index = −100).
 */
import code from '../../../shaders/cross_entropy.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { requireBinding } from '../gpu/check';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';

/** HF / torch ignore_index: rows with this target contribute no loss and no gradient. */
export const IGNORE_INDEX = -100;

const WG = 256;
const BINDINGS = ['uniform', 'rw', 'read', 'rw'] as const;
const lossSpec: KernelSpec = { label: 'crossEntropy.forward', code, entryPoint: 'forward', bindings: BINDINGS, constants: { WG } };
const gradSpec: KernelSpec = { label: 'crossEntropy.backward', code, entryPoint: 'backward', bindings: BINDINGS, constants: { WG } };

/**
 * Checks shifted targets on the CPU before upload (the shader cannot throw; it writes loss −1 for a bad row).
 * @param targets i32 [M]: class ids in [0, V) or −100.
 * @throws Error naming the first row whose target is neither −100 nor in [0, V).
 */
export function validateTargets(targets: Int32Array, V: number, what = 'targets'): void {
  for (let m = 0; m < targets.length; m++) {
    const t = targets[m] as number;
    if (t !== IGNORE_INDEX && (t < 0 || t >= V)) throw new Error(`${what}: row ${m} has target ${t}, expected −100 or a token id in [0, ${V})`);
  }
}

/**
 * Records per-row cross-entropy over logits f32 [M, V] and integer targets i32 [M] (already shifted by the caller).
 * losses[m] = logsumexp(logits[m]) − logits[m][target[m]] (max-subtracted, f32), 0 where target = −100.
 * When writeGrad, logits is OVERWRITTEN with dlogits = (softmax(logits[m]) − onehot(target[m])) · gradScale
 * (zeros on ignored rows); gradScale is 1 / (number of non-ignored targets in the whole optimizer step).
 * One workgroup of 256 threads per row (2-D grid beyond 65535 rows).
 * A target outside [0, V) other than −100 yields loss −1 and a zero gradient row; call {@link validateTargets}.
 * @throws Error naming the argument when M or V is not a positive integer, gradScale is not finite, or a buffer
 *   is too small; DeviceLimitError when logits exceeds maxStorageBufferBindingSize (split the rows).
 */
export function crossEntropy(
  ctx: GpuContext,
  enc: GPUCommandEncoder,
  args: { readonly M: number; readonly V: number; readonly logits: Binding; readonly targets: Binding; readonly losses: Binding; readonly gradScale: number; readonly writeGrad: boolean },
): void {
  const spec = args.writeGrad ? gradSpec : lossSpec;
  const { M, V } = args;
  for (const [k, v] of Object.entries({ M, V }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${spec.label}: ${k} must be a positive integer, got ${v}`);
  if (!Number.isFinite(args.gradScale)) throw new Error(`${spec.label}: gradScale must be finite, got ${args.gradScale}`);
  requireBinding(ctx, spec.label, `logits [M=${M}, V=${V}] f32`, args.logits, M * V * 4);
  requireBinding(ctx, spec.label, `targets [M=${M}] i32`, args.targets, M * 4);
  requireBinding(ctx, spec.label, `losses [M=${M}] f32`, args.losses, M * 4);
  const params = uniform(ctx, packUniform([{ u32: M }, { u32: V }, { f32: args.gradScale }]), `${spec.label}.params`);
  dispatch(ctx, enc, spec, [params, args.logits, args.targets, args.losses], linearGrid(ctx, M, 1));
}
