/**
 * RMSNorm kernel wrappers (HF LlamaRMSNorm; also Qwen3 q_norm / k_norm with rows = M·H, C = D; with offset 1 HF
 * Gemma3RMSNorm, y = x·rstd·(1 + w), also for Gemma 3's q_norm / k_norm and sandwich norms).
 * Shader: shaders/rmsnorm.wgsl, two variants chosen by C ({@link rmsnormVariant}): 'row' (one thread per row,
 * no barriers; C ≤ 64) and 'workgroup' (one workgroup per row, tree reduction). The weight gradient of full-parameter
 * training, dw[c] = Σ_rows dy·x·rstd (the same for both offsets), is {@link rmsnormWeightGrad} (entry backward_weight).
 */
import code from '../../../shaders/rmsnorm.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';
import { requireBinding, requireSizes } from '../gpu/check';

/** 'row': one thread per row (no barriers); 'workgroup': one workgroup per row with a tree reduction. */
export type RmsnormVariant = 'row' | 'workgroup';

/** Largest C that gets the 'row' variant by default. */
export const RMSNORM_ROW_MAX_C = 64;
/** Threads per workgroup of the 'row' variant. */
const ROW_WG = 64;

/** The variant used for rows of C values when the caller does not force one: 'row' for C ≤ 64. */
export function rmsnormVariant(C: number): RmsnormVariant {
  return C <= RMSNORM_ROW_MAX_C ? 'row' : 'workgroup';
}

/**
 * How the weight w [C] is applied: 0 = y = w ⊙ x̂ (HF LlamaRMSNorm, Qwen2/3), 1 = y = (1 + w) ⊙ x̂ computed in f32
 * (HF Gemma3RMSNorm, transformers models/gemma3/modeling_gemma3.py), x̂ = x·rstd.
 */
export type RmsnormOffset = 0 | 1;

/** What forward and backward share about the weight: they must be given the same values. */
export interface RmsnormWeightArgs {
  /** f32 [C]: the stored norm weight w. */
  readonly weight: Binding;
  /** Applied weight w (0, default) or 1 + w (1, Gemma 3). */
  readonly offset?: RmsnormOffset;
}

/** Arguments of {@link rmsnormForward}. */
export interface RmsnormForwardArgs extends RmsnormWeightArgs {
  /** Rows normalised independently (M, or M·H for per-head norms). */
  readonly rows: number;
  /** Values per row (C, or D for per-head norms); 1 ≤ C. */
  readonly C: number;
  /** Added to mean(x²) before the square root (config rms_norm_eps). */
  readonly eps: number;
  /** f32 [rows, C]. */
  readonly x: Binding;
  /** f32 [rows, C]. */
  readonly out: Binding;
  /** f32 [rows], written: 1/sqrt(mean(x²) + eps), saved for backward. */
  readonly rstd: Binding;
  /** Forces a variant (tests, benches); default {@link rmsnormVariant}(C). */
  readonly variant?: RmsnormVariant;
}

/** Arguments of {@link rmsnormBackward}. */
export interface RmsnormBackwardArgs extends RmsnormWeightArgs {
  readonly rows: number;
  readonly C: number;
  /** f32 [rows, C], the forward input. */
  readonly x: Binding;
  /** f32 [rows], as written by the forward. */
  readonly rstd: Binding;
  /** f32 [rows, C], ∂L/∂y. */
  readonly dout: Binding;
  /** f32 [rows, C], ∂L/∂x (written, or added to when accumulate). */
  readonly dx: Binding;
  /** dx += … instead of dx = … */
  readonly accumulate?: boolean;
  /** Forces a variant (tests, benches); default {@link rmsnormVariant}(C). */
  readonly variant?: RmsnormVariant;
}

/** Threads per row: the smallest power of two ≥ C between 32 and 256. */
function workgroupSize(C: number): number {
  return C <= 32 ? 32 : C <= 64 ? 64 : C <= 128 ? 128 : 256;
}

function check(ctx: GpuContext, kernel: string, rows: number, C: number, offset: unknown, tensors: Record<string, [Binding, number]>): void {
  requireSizes(kernel, { rows, C });
  if (C < 1) throw new Error(`${kernel}: C = 0; a row must hold at least one value`);
  if (offset !== 0 && offset !== 1) throw new Error(`${kernel}: offset = ${String(offset)}; expected 0 (w) or 1 (1 + w)`);
  for (const [name, [b, bytes]] of Object.entries(tensors)) requireBinding(ctx, kernel, name, b, bytes);
}

/**
 * Records y = a ⊙ x·rstd and rstd = 1/sqrt(mean(x²) + eps) per row, a = w (offset 0) or 1 + w (offset 1).
 * @throws Error naming the tensor when a binding is too small, C = 0, offset is not 0 or 1, or eps is not finite and ≥ 0;
 *   DeviceLimitError when a tensor exceeds maxStorageBufferBindingSize.
 */
export function rmsnormForward(ctx: GpuContext, enc: GPUCommandEncoder, args: RmsnormForwardArgs): void {
  const { rows, C, eps } = args;
  if (!(eps >= 0 && Number.isFinite(eps))) throw new Error(`rmsnorm.forward: eps = ${eps}; expected a finite number ≥ 0`);
  const sh = `[rows=${rows}, C=${C}] f32`;
  const offset = args.offset ?? 0;
  check(ctx, 'rmsnorm.forward', rows, C, offset, { [`x ${sh}`]: [args.x, rows * C * 4], [`weight [C=${C}] f32`]: [args.weight, C * 4], [`out ${sh}`]: [args.out, rows * C * 4], [`rstd [rows=${rows}] f32`]: [args.rstd, rows * 4] });
  const row = (args.variant ?? rmsnormVariant(C)) === 'row';
  const WG = row ? ROW_WG : workgroupSize(C);
  const spec: KernelSpec = { label: row ? 'rmsnorm.forward_row' : 'rmsnorm.forward', code, entryPoint: row ? 'forward_row' : 'forward', bindings: ['uniform', 'read', 'read', 'rw', 'rw'], constants: { WG, ONE_PLUS_W: offset } };
  const params = uniform(ctx, packUniform([{ u32: rows }, { u32: C }, { f32: eps }]), 'rmsnorm.params');
  dispatch(ctx, enc, spec, [params, args.x, args.weight, args.out, args.rstd], linearGrid(ctx, rows, row ? ROW_WG : 1));
}

/**
 * Records dx (=|+=) rstd·a ⊙ dy − x·rstd³·(Σ a ⊙ dy ⊙ x)/C per row (gradient of the forward w.r.t. x), a = w or 1 + w
 * as in the forward (pass the same offset).
 * @throws Error naming the tensor when a binding is too small, C = 0 or offset is not 0 or 1; DeviceLimitError when a tensor
 *   exceeds maxStorageBufferBindingSize.
 */
export function rmsnormBackward(ctx: GpuContext, enc: GPUCommandEncoder, args: RmsnormBackwardArgs): void {
  const { rows, C } = args;
  const sh = `[rows=${rows}, C=${C}] f32`;
  const offset = args.offset ?? 0;
  check(ctx, 'rmsnorm.backward', rows, C, offset, { [`x ${sh}`]: [args.x, rows * C * 4], [`weight [C=${C}] f32`]: [args.weight, C * 4], [`rstd [rows=${rows}] f32`]: [args.rstd, rows * 4], [`dout ${sh}`]: [args.dout, rows * C * 4], [`dx ${sh}`]: [args.dx, rows * C * 4] });
  const row = (args.variant ?? rmsnormVariant(C)) === 'row';
  const WG = row ? ROW_WG : workgroupSize(C);
  const spec: KernelSpec = { label: row ? 'rmsnorm.backward_row' : 'rmsnorm.backward', code, entryPoint: row ? 'backward_row' : 'backward', bindings: ['uniform', 'read', 'read', 'read', 'read', 'rw'], constants: { WG, ACCUMULATE: args.accumulate ? 1 : 0, ONE_PLUS_W: offset } };
  const params = uniform(ctx, packUniform([{ u32: rows }, { u32: C }, { f32: 0 }]), 'rmsnorm.params');
  dispatch(ctx, enc, spec, [params, args.x, args.weight, args.rstd, args.dout, args.dx], linearGrid(ctx, rows, row ? ROW_WG : 1));
}

/** Arguments of {@link rmsnormWeightGrad}. */
export interface RmsnormWeightGradArgs {
  readonly rows: number;
  readonly C: number;
  /** f32 [rows, C], the forward input. */
  readonly x: Binding;
  /** f32 [rows], as written by the forward. */
  readonly rstd: Binding;
  /** f32 [rows, C], ∂L/∂y. */
  readonly dout: Binding;
  /** f32 [C], ∂L/∂w (written, or added to when accumulate). */
  readonly dw: Binding;
  /** dw += … instead of dw = … (micro-batches, and q/k norms read by several rows per token). */
  readonly accumulate?: boolean;
}

/**
 * Records dw[c] (=|+=) Σ_r dout[r, c]·x[r, c]·rstd[r], the gradient of the norm weight (same for offset 0 and 1:
 * ∂(w)/∂w = ∂(1 + w)/∂w = 1). One thread per column summing its rows in order (deterministic).
 * @throws Error naming the tensor when a binding is too small or C = 0; DeviceLimitError when a tensor exceeds
 *   maxStorageBufferBindingSize.
 */
export function rmsnormWeightGrad(ctx: GpuContext, enc: GPUCommandEncoder, args: RmsnormWeightGradArgs): void {
  const { rows, C } = args;
  const sh = `[rows=${rows}, C=${C}] f32`;
  check(ctx, 'rmsnorm.backward_weight', rows, C, 0, { [`x ${sh}`]: [args.x, rows * C * 4], [`rstd [rows=${rows}] f32`]: [args.rstd, rows * 4], [`dout ${sh}`]: [args.dout, rows * C * 4], [`dw [C=${C}] f32`]: [args.dw, C * 4] });
  const spec: KernelSpec = { label: 'rmsnorm.backward_weight', code, entryPoint: 'backward_weight', bindings: ['uniform', 'read', 'read', 'read', 'read', 'rw'], constants: { WG: ROW_WG, ACCUMULATE: args.accumulate ? 1 : 0 } };
  const params = uniform(ctx, packUniform([{ u32: rows }, { u32: C }, { f32: 0 }]), 'rmsnorm.params');
  // binding 2 (the weight) is not read by this entry point; x is bound there to fill the shared layout
  dispatch(ctx, enc, spec, [params, args.x, args.x, args.rstd, args.dout, args.dw], linearGrid(ctx, C, ROW_WG));
}
