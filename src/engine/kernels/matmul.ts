/**
 * matmul kernel wrapper: out[M, N] (=|+=) alpha·op(a)·op(w) (+ bias[N]), f32 activations, packed weights.
 * Shader: shaders/matmul.wgsl (64×64 tiles through workgroup memory, 4×4 outputs per thread, f32 fma over K).
 *
 * The model uses it for every linear-algebra step (nn.Linear: y = x·Wᵀ + b, torch `F.linear`):
 *   forward  y = x·Wᵀ (+b)            transB,          W [N, K] bf16/f16/f32
 *   backward dx = dy·W                 !transB,         W [N, K] read as [K', N'] = [N, K]
 *            dW = dyᵀ·x                transA, !transB, a = dy [M, N], w = x [M, K] f32
 *   LoRA     y += s·u·Bᵀ (accumulate, alpha = s), dB = s·dyᵀ·u, dA = duᵀ·x, dx += du·A.
 */
import code from '../../../shaders/matmul.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import type { WeightDType } from '../../io/dtype';
import { createStorage, packUniform, uniform } from '../gpu/buffers';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';
import { requireBinding, requireSizes } from '../gpu/check';
import { packedBytes, weightDtypeCode } from '../gpu/weights';

/** Arguments of {@link matmul}. Shapes use M (rows of out), N (cols of out), K (reduced dim). */
export interface MatmulArgs {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** f32: [M, K] row-major, or [K, M] when transA */
  readonly a: Binding;
  readonly transA?: boolean;
  /** u32 words of dtype wDtype: [N, K] when transB (y = a·wᵀ, nn.Linear layout), else [K, N] */
  readonly w: Binding;
  readonly wDtype: WeightDType;
  readonly transB: boolean;
  /** f32 [M, N] */
  readonly out: Binding;
  /** out += alpha·(op(a)·op(w)) instead of out = alpha·(...) (+ bias) */
  readonly accumulate?: boolean;
  /** Scale of the product; default 1. */
  readonly alpha?: number;
  /** optional f32 [N] bias added to each row (out = alpha·(a·op(w)) + bias, or out += … + bias when accumulate) */
  readonly bias?: Binding;
}

const TILE = 64;
const NAIVE_WG = 64;
const BINDINGS = ['uniform', 'read', 'read', 'read', 'rw'] as const;
const dummies = new WeakMap<GPUDevice, GPUBuffer>();

/** A 4-byte storage buffer bound in place of an absent bias (one per device). */
function dummyBias(ctx: GpuContext): GPUBuffer {
  let b = dummies.get(ctx.device);
  if (!b) dummies.set(ctx.device, (b = createStorage(ctx, 4, 'matmul.noBias')));
  return b;
}

function specFor(args: MatmulArgs, entryPoint: 'forward' | 'naive' | 'skinny'): KernelSpec {
  return {
    label: `matmul.${entryPoint}`,
    code,
    entryPoint,
    bindings: BINDINGS,
    constants: {
      TRANS_A: args.transA ? 1 : 0,
      TRANS_B: args.transB ? 1 : 0,
      W_DTYPE: weightDtypeCode(args.wDtype),
      HAS_BIAS: args.bias ? 1 : 0,
      ACCUMULATE: args.accumulate ? 1 : 0,
    },
  };
}

/** Validates sizes and binding ranges; returns the bindings in shader order (uniform first). */
function prepare(ctx: GpuContext, args: MatmulArgs, what: string): Binding[] {
  const { M, N, K } = args;
  requireSizes(what, { M, N, K });
  const alpha = args.alpha ?? 1;
  if (!Number.isFinite(alpha)) throw new Error(`${what}: alpha = ${alpha}; expected a finite number`);
  const aShape = args.transA ? `[K=${K}, M=${M}]` : `[M=${M}, K=${K}]`;
  const wShape = args.transB ? `[N=${N}, K=${K}]` : `[K=${K}, N=${N}]`;
  requireBinding(ctx, what, `a ${aShape} f32`, args.a, M * K * 4);
  requireBinding(ctx, what, `w ${wShape} ${args.wDtype}`, args.w, Math.ceil(packedBytes(args.wDtype, N * K) / 4) * 4);
  requireBinding(ctx, what, `out [M=${M}, N=${N}] f32`, args.out, M * N * 4);
  if (args.bias) requireBinding(ctx, what, `bias [N=${N}] f32`, args.bias, N * 4);
  const tilesN = Math.ceil(N / TILE);
  const params = uniform(ctx, packUniform([{ u32: M }, { u32: N }, { u32: K }, { f32: alpha }, { u32: tilesN }]), `${what}.params`);
  return [params, args.a, args.w, args.bias ?? dummyBias(ctx), args.out];
}

/**
 * Records out (=|+=) alpha·op(a)·op(w) (+ bias) into `enc` with the tiled kernel.
 * Works for any M, N, K ≥ 0 (K = 0 gives out = bias, or leaves out + bias when accumulating).
 * @throws Error naming the tensor when a binding is smaller than its shape needs or a size is not an
 *   integer; DeviceLimitError when a tensor exceeds maxStorageBufferBindingSize (split it first).
 */
export function matmul(ctx: GpuContext, enc: GPUCommandEncoder, args: MatmulArgs): void {
  const bindings = prepare(ctx, args, 'matmul');
  const tiles = Math.ceil(args.M / TILE) * Math.ceil(args.N / TILE);
  dispatch(ctx, enc, specFor(args, 'forward'), bindings, linearGrid(ctx, tiles, 1));
}

/** Largest M {@link matmulSkinny} accepts. */
export const MATMUL_SKINNY_MAX_M = 16;

/**
 * Same contract and bit-identical results as {@link matmul}, for M ≤ 16: one workgroup per 64 output columns with
 * every row in registers, so a few rows (e.g. the lm_head on a short sequence) do not pay for 64-row tiles.
 * @throws Error when M > MATMUL_SKINNY_MAX_M; otherwise as {@link matmul}.
 */
export function matmulSkinny(ctx: GpuContext, enc: GPUCommandEncoder, args: MatmulArgs): void {
  if (args.M > MATMUL_SKINNY_MAX_M) throw new Error(`matmul.skinny: M = ${args.M} rows; this entry point takes at most ${MATMUL_SKINNY_MAX_M} (use matmul)`);
  const bindings = prepare(ctx, args, 'matmul.skinny');
  const spec = specFor(args, 'skinny');
  dispatch(ctx, enc, { ...spec, constants: { ...spec.constants, SKINNY_ROWS4: Math.max(1, Math.ceil(args.M / 4)) } }, bindings, linearGrid(ctx, Math.ceil(args.N / TILE), 1));
}

/**
 * Same contract as {@link matmul} with one thread per output and no workgroup memory. A baseline for
 * bench/matmul.bench.ts and a second GPU implementation for tests; do not use in the model.
 */
export function matmulNaive(ctx: GpuContext, enc: GPUCommandEncoder, args: MatmulArgs): void {
  const bindings = prepare(ctx, args, 'matmul.naive');
  dispatch(ctx, enc, specFor(args, 'naive'), bindings, linearGrid(ctx, args.M * args.N, NAIVE_WG));
}
