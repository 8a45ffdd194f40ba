/**
 * Cross-entropy over vocabulary chunks (shaders/cross_entropy_chunk.wgsl): the lm_head never materialises logits
 * [M, V]; the caller computes one chunk of logits [M, Vc] at a time. Pass 1 (forward, every chunk in order) keeps an
 * online log-sum-exp per row and yields loss and lse; pass 2 (backward, every chunk again, logits recomputed) turns
 * a chunk into dlogits in place. Sources: HF transformers `loss/loss_utils.py` `ForCausalLMLoss`; Milakov &
 * Gimelshein 2018 (online softmax normaliser); Liger-Kernel FusedLinearCrossEntropy; Wijmans et al. 2024 (CCE).
 * Pass 1 has two variants chosen by chunk width ({@link crossEntropyChunkVariant}): 'row' (one thread per row, no
 * barriers; Vc ≤ 1024) and 'workgroup' (one workgroup per row, tree reduction).
 * Optional logit soft-capping (Gemma final_logit_softcapping, HF Gemma3ForCausalLM.forward): the loss is over
 * z′ = cap·tanh(z/cap) of the raw chunk logits z, and the backward includes dz′/dz = 1 − (z′/cap)².
 */
import code from '../../../shaders/cross_entropy_chunk.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { requireBinding, requireSizes } from '../gpu/check';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';
import { requireSoftcap } from './softcap';

const WG = 256;
const BINDINGS = ['uniform', 'rw', 'read', 'rw', 'rw'] as const;
const ROW_WG = 64;
const forwardSpec: KernelSpec = { label: 'crossEntropyChunk.forward', code, entryPoint: 'forward', bindings: BINDINGS, constants: { WG } };
const forwardRowSpec: KernelSpec = { label: 'crossEntropyChunk.forward_row', code, entryPoint: 'forward_row', bindings: BINDINGS, constants: { WG: ROW_WG } };

/** Pass-1 variants: 'row' = one thread per token row (no barriers), 'workgroup' = one workgroup per row. */
export type CrossEntropyChunkVariant = 'row' | 'workgroup';

/** Widest chunk that gets the 'row' variant by default. */
export const CE_ROW_MAX_VC = 1024;

/** The pass-1 variant for a chunk of Vc vocabulary rows when the caller does not force one: 'row' for Vc ≤ 1024. */
export function crossEntropyChunkVariant(Vc: number): CrossEntropyChunkVariant {
  return Vc <= CE_ROW_MAX_VC ? 'row' : 'workgroup';
}
const backwardSpec: KernelSpec = { label: 'crossEntropyChunk.backward', code, entryPoint: 'backward', bindings: BINDINGS, constants: { WG } };
const backwardRowsSpec: KernelSpec = { label: 'crossEntropyChunk.backward_rows', code, entryPoint: 'backward_rows', bindings: [...BINDINGS, 'read'], constants: { WG } };

/** Floats per row of the stats buffer: running max, running Σ exp(x − max), target logit, lse. */
export const CE_STATS_PER_ROW = 4;

/** Shapes and buffers of one chunk call. */
export interface CrossEntropyChunkArgs {
  /** Token rows. */
  readonly M: number;
  /** Full vocabulary size (targets outside [0, V) other than −100 get loss −1). */
  readonly V: number;
  /** First vocabulary row of this chunk. */
  readonly v0: number;
  /** Vocabulary rows in this chunk; logits is [M, Vc]. */
  readonly Vc: number;
  /** f32 [M, Vc]: this chunk's logits (backward: overwritten with dlogits). */
  readonly logits: Binding;
  /** i32 [M]: shifted targets, −100 = ignore. */
  readonly targets: Binding;
  /** f32 [M, 4]: per-row running statistics (see CE_STATS_PER_ROW). */
  readonly stats: Binding;
  /** f32 [M]: per-row loss, written on the last chunk. */
  readonly losses: Binding;
  /**
   * Logit soft-cap (config final_logit_softcapping), finite and > 0, used as an f32; absent: no capping. Pass the
   * same value to every forward and backward call of one loss.
   */
  readonly softcap?: number;
}

function check(ctx: GpuContext, label: string, a: CrossEntropyChunkArgs): void {
  const { M, V, v0, Vc } = a;
  requireSizes(label, { M, V, v0, Vc, 'M·Vc': M * Vc });
  if (M < 1 || Vc < 1) throw new Error(`${label}: M and Vc must be ≥ 1, got M=${M}, Vc=${Vc}`);
  if (v0 + Vc > V) throw new Error(`${label}: chunk rows [${v0}, ${v0 + Vc}) exceed the vocabulary V=${V}`);
  requireBinding(ctx, label, `logits [M=${M}, Vc=${Vc}] f32`, a.logits, M * Vc * 4);
  requireBinding(ctx, label, `targets [M=${M}] i32`, a.targets, M * 4);
  requireBinding(ctx, label, `stats [M=${M}, 4] f32`, a.stats, M * CE_STATS_PER_ROW * 4);
  requireBinding(ctx, label, `losses [M=${M}] f32`, a.losses, M * 4);
  if (a.softcap !== undefined) requireSoftcap(label, a.softcap);
}

/** `spec` with the SOFTCAP override when args.softcap is given (the uncapped spec is the one used before capping existed). */
function specFor(spec: KernelSpec, a: CrossEntropyChunkArgs): KernelSpec {
  if (a.softcap === undefined) return spec;
  return { ...spec, label: `${spec.label}.softcap`, constants: { ...spec.constants, SOFTCAP: Math.fround(a.softcap) } };
}

function params(ctx: GpuContext, a: CrossEntropyChunkArgs, flags: number, gradScale: number, label: string): GPUBuffer {
  return uniform(ctx, packUniform([{ u32: a.M }, { u32: a.V }, { u32: a.v0 }, { u32: a.Vc }, { u32: flags }, { f32: gradScale }]), `${label}.params`);
}

/**
 * Records pass 1 for one chunk: merges max/Σexp of logits[m, :] into stats[m] (starting afresh when `first`), keeps
 * logits[m, target − v0] when the target is in the chunk; when `last`, writes lse[m] = max + log Σ exp(x − max) into
 * stats[m, 3] and losses[m] = lse − target logit (0 where target = −100, −1 for any other target outside [0, V)).
 * Call for chunks in vocabulary order covering [0, V) exactly once. `variant` forces a pass-1 variant (tests,
 * benches; default {@link crossEntropyChunkVariant}(Vc)). With args.softcap every logit above is the capped
 * z′ = cap·tanh(z/cap) of the raw z in `logits` (which is left unchanged).
 * @throws Error naming the argument when a size is invalid, the chunk leaves [0, V), a binding is too small or the
 *   softcap is not a finite number > 0;
 *   DeviceLimitError when a binding exceeds maxStorageBufferBindingSize.
 */
export function crossEntropyChunkForward(
  ctx: GpuContext,
  enc: GPUCommandEncoder,
  args: CrossEntropyChunkArgs & { readonly first: boolean; readonly last: boolean; readonly variant?: CrossEntropyChunkVariant },
): void {
  check(ctx, forwardSpec.label, args);
  const flags = (args.first ? 1 : 0) | (args.last ? 2 : 0);
  const p = params(ctx, args, flags, 0, forwardSpec.label);
  const buffers = [p, args.logits, args.targets, args.stats, args.losses];
  if ((args.variant ?? crossEntropyChunkVariant(args.Vc)) === 'row') dispatch(ctx, enc, specFor(forwardRowSpec, args), buffers, linearGrid(ctx, args.M, ROW_WG));
  else dispatch(ctx, enc, specFor(forwardSpec, args), buffers, linearGrid(ctx, args.M, 1));
}

/**
 * Records pass 2 for one chunk, in place: logits[m, i] ← (exp(logits[m, i] − lse[m]) − [v0 + i = target[m]])·g_m,
 * zero rows where the target is −100 or outside [0, V), with g_m = gradScale, or gradScale·rowScale[m] when
 * args.rowScale is given (a per-sequence scale: DPO's d loss / d NLL_m = −d loss / d logp of the row's sequence;
 * entry point backward_rows). Needs the stats of a completed pass 1. With args.softcap (the same as pass 1's)
 * `logits` holds the raw z and the result is (exp(z′ − lse) − onehot)·g_m·(1 − (z′/cap)²), z′ = cap·tanh(z/cap):
 * ∂(Σ_m g_m·loss_m)/∂z.
 * @param args.gradScale scalar factor, finite (1 / label tokens of the optimizer step for SFT).
 * @param args.rowScale optional f32 [M] per-row factor.
 * @throws Error as {@link crossEntropyChunkForward}, for a non-finite gradScale, or a rowScale binding under M floats.
 */
export function crossEntropyChunkBackward(ctx: GpuContext, enc: GPUCommandEncoder, args: CrossEntropyChunkArgs & { readonly gradScale: number; readonly rowScale?: Binding }): void {
  const spec = args.rowScale ? backwardRowsSpec : backwardSpec;
  check(ctx, spec.label, args);
  if (!Number.isFinite(args.gradScale)) throw new Error(`${spec.label}: gradScale must be finite, got ${args.gradScale}`);
  const p = params(ctx, args, 0, args.gradScale, spec.label);
  const buffers: Binding[] = [p, args.logits, args.targets, args.stats, args.losses];
  if (args.rowScale) {
    requireBinding(ctx, spec.label, `rowScale [M=${args.M}] f32`, args.rowScale, args.M * 4);
    buffers.push(args.rowScale);
  }
  dispatch(ctx, enc, specFor(spec, args), buffers, linearGrid(ctx, args.M * args.Vc, WG));
}
