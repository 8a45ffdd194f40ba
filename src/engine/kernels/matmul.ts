/**
 * matmul kernel wrapper: out[M, N] (=|+=) alpha·op(a)·op(w) (+ bias[N]), f32 activations, packed weights.
 * Shader: shaders/matmul.wgsl (64×64 tiles through workgroup memory, 4×4 outputs per thread, f32 fma over K).
 *
 * The model uses it for every linear-algebra step (nn.Linear: y = x·Wᵀ + b, torch `F.linear`):
 *   forward  y = x·Wᵀ (+b)            transB,          W [N, K] bf16/f16/f32
 *   backward dx = dy·W                 !transB,         W [N, K] read as [K', N'] = [N, K]
 *            dW = dyᵀ·x                transA, !transB, a = dy [M, N], w = x [M, K] f32
 *   LoRA     u = x·Aᵀ, du = s·dy·B, dB += s·dyᵀ·u, dA += duᵀ·x (rank-r outputs: matmulAuto → matmulThin);
 *            y = x·Wᵀ + b + s·u·Bᵀ and dx = dy·W + du·A each in one pass (matmulLora, entry point `lora`).
 * Variants by shape are chosen in one place, {@link matmulVariant}; every variant has the same fma order over K as the
 * tiled kernel, so they agree bit for bit (tests/gpu/matmul-skinny.test.ts, tests/gpu/lora-linear.test.ts,
 * tests/gpu/matmul-reg.test.ts). Short K (any K on CPU adapters) goes to the register-blocked kernel without barriers
 * (shaders/matmul_reg.wgsl); few outputs over a long K to its split-K entries.
 */
import code from '../../../shaders/matmul.wgsl?raw';
import regCode from '../../../shaders/matmul_reg.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import type { WeightDType } from '../../io/dtype';
import { createStorage, packUniform, scratchBuffer, uniform } from '../gpu/buffers';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';
import { requireBinding, requireSizes } from '../gpu/check';
import { packedBytes, weightDtypeCode } from '../gpu/weights';
import { MATMUL_REG_MAX_K, MATMUL_SPLITK_CHUNK, MATMUL_THIN_MAX, matmulVariant, regMaxKFor, regThreads } from './matmulVariant';

export * from './matmulVariant';

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
const LORA_BINDINGS = ['uniform', 'read', 'read', 'read', 'rw', 'read', 'read'] as const;
const dummies = new WeakMap<GPUDevice, GPUBuffer>();

/** A 4-byte storage buffer bound in place of an absent bias (one per device). */
function dummyBias(ctx: GpuContext): GPUBuffer {
  let b = dummies.get(ctx.device);
  if (!b) dummies.set(ctx.device, (b = createStorage(ctx, 4, 'matmul.noBias')));
  return b;
}

function specFor(args: MatmulArgs, entryPoint: 'forward' | 'naive' | 'skinny' | 'thin'): KernelSpec {
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
function prepare(ctx: GpuContext, args: MatmulArgs, what: string, second?: { R: number; alpha2: number }, chunk = 0): Binding[] {
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
  const params = uniform(ctx, packUniform([{ u32: M }, { u32: N }, { u32: K }, { f32: alpha }, { u32: tilesN }, { u32: second?.R ?? 0 }, { f32: second?.alpha2 ?? 0 }, { u32: chunk }]), `${what}.params`);
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

/**
 * Same contract and bit-identical results as {@link matmul} for a thin output (rank-r shapes): one thread per row
 * holding all N ≤ 16 columns (`rows` false), or per column holding all M ≤ 16 rows (`rows` true); no workgroup memory.
 * @throws Error when the thin dimension exceeds MATMUL_THIN_MAX; otherwise as {@link matmul}.
 */
export function matmulThin(ctx: GpuContext, enc: GPUCommandEncoder, args: MatmulArgs, rows: boolean): void {
  const thin = rows ? args.M : args.N;
  if (thin > MATMUL_THIN_MAX) throw new Error(`matmul.thin: ${rows ? 'M' : 'N'} = ${thin}; this entry point takes at most ${MATMUL_THIN_MAX} (use matmul)`);
  const bindings = prepare(ctx, args, 'matmul.thin');
  const g4 = Math.min(4, Math.max(1, Math.ceil(thin / 4)));
  const spec = specFor(args, 'thin');
  const span = 4 * g4;
  const threads = rows ? args.N * Math.ceil(args.M / span) : args.M * Math.ceil(args.N / span);
  dispatch(ctx, enc, { ...spec, constants: { ...spec.constants, THIN_ROWS: rows ? 1 : 0, THIN_G4: g4 } }, bindings, linearGrid(ctx, threads, NAIVE_WG));
}

/** Records `args` with the variant {@link matmulVariant} picks; same contract as {@link matmul} (results: see there). */
export function matmulAuto(ctx: GpuContext, enc: GPUCommandEncoder, args: MatmulArgs): void {
  const v = matmulVariant(args.M, args.N, args.K, regMaxKFor(ctx.adapter));
  if (v === 'tiled') matmul(ctx, enc, args);
  else if (v === 'reg') matmulReg(ctx, enc, args);
  else if (v === 'splitK') matmulSplitK(ctx, enc, args);
  else matmulThin(ctx, enc, args, v === 'thinM');
}

/** Pipeline of the register-blocked kernel for `args` (word-pair loads when the weight layout allows them). */
function regSpec(args: MatmulArgs, entryPoint: 'reg' | 'reg4' | 'reg_lora' | 'reg4_lora' | 'reg4_lorav' | 'splitk_partial' | 'splitk_reduce', extra: Record<string, number> = {}): KernelSpec {
  const base = specFor(args, 'forward');
  const packed16 = args.wDtype !== 'F32';
  return {
    label: `matmul.${entryPoint}`,
    code: regCode,
    entryPoint,
    bindings: entryPoint.includes('_lora') ? LORA_BINDINGS : BINDINGS,
    constants: { ...base.constants, PAIR_K: packed16 && args.transB && args.K % 2 === 0 ? 1 : 0, PAIR_N: packed16 && !args.transB && args.N % 2 === 0 ? 1 : 0, ...extra },
  };
}

/** Whether the register-blocked kernel can read op(a) four k at a time (entry points reg4 / reg4_lora). */
function vec4Rows(args: MatmulArgs): boolean {
  return !args.transA && args.K > 0 && args.K % 4 === 0;
}

/**
 * Same contract and bit-identical results as {@link matmul}, as a register-blocked kernel without workgroup memory
 * (shaders/matmul_reg.wgsl: one thread per 4×4 output block, 16-bit weights read two per word, and op(a) rows read
 * as vec4s when K % 4 == 0 and a is not transposed). matmulAuto uses it for K ≤ {@link regMaxKFor}(adapter) (every K on CPU
 * adapters, {@link MATMUL_REG_MAX_K} on GPUs); correct for any shape.
 * @param loads 'scalar' forces one-element loads of op(a) (tests and benches of the vec4 entry); default 'auto'
 * @throws as {@link matmul}.
 */
export function matmulReg(ctx: GpuContext, enc: GPUCommandEncoder, args: MatmulArgs, loads: 'auto' | 'scalar' = 'auto'): void {
  const bindings = prepare(ctx, args, 'matmul.reg');
  const entry = loads === 'auto' && vec4Rows(args) ? 'reg4' : 'reg';
  dispatch(ctx, enc, regSpec(args, entry), bindings, linearGrid(ctx, regThreads(args.M, args.N), NAIVE_WG));
}

/** scratchBuffer name of the split-K partials (model/activations.ts sizes it up front for the LoRA products). */
export const SPLITK_SCRATCH = 'matmul.splitK';

/**
 * Same contract as {@link matmul}, for few outputs over a long reduction: the K range is cut into S = ceil(K / chunk)
 * chunks; `splitk_partial` (one thread per chunk and 4×4 output block, shaders/matmul_reg.wgsl) writes each chunk's
 * block sums to a scratch [S, M, N] f32 (gpu/buffers.ts scratchBuffer 'matmul.splitK', reused), and `splitk_reduce`
 * sums the S partials in chunk order and applies alpha, bias and accumulate as {@link matmul}'s epilogue. Two
 * dispatches; deterministic; differs from {@link matmul} only by the regrouped f32 sum.
 * @param chunk reduction length per chunk (even); default {@link MATMUL_SPLITK_CHUNK}
 * @throws Error when chunk is not a positive even integer; otherwise as {@link matmul}.
 */
export function matmulSplitK(ctx: GpuContext, enc: GPUCommandEncoder, args: MatmulArgs, chunk = MATMUL_SPLITK_CHUNK): void {
  if (!Number.isInteger(chunk) || chunk < 2 || chunk % 2 !== 0) throw new Error(`matmul.splitK: chunk = ${chunk}; expected a positive even integer`);
  const bindings = prepare(ctx, args, 'matmul.splitK', undefined, chunk);
  const { M, N, K } = args;
  const S = Math.max(1, Math.ceil(K / chunk));
  const part = scratchBuffer(ctx, SPLITK_SCRATCH, S * M * N * 4);
  const [params, a, w, bias, out] = bindings as [Binding, Binding, Binding, Binding, Binding];
  if (K > 0) dispatch(ctx, enc, regSpec(args, 'splitk_partial'), [params, a, w, bias, part], linearGrid(ctx, S * regThreads(M, N), NAIVE_WG));
  else enc.clearBuffer(part, 0, M * N * 4);
  dispatch(ctx, enc, regSpec(args, 'splitk_reduce'), [params, part, w, bias, out], linearGrid(ctx, M * N, NAIVE_WG));
}

/** Arguments of {@link matmulLora}: a {@link MatmulArgs} product plus a second, rank-R product added in its epilogue. */
export interface MatmulLoraArgs extends MatmulArgs {
  /** R, the reduced dim of the second product (LoRA rank). */
  readonly R: number;
  /** f32 [M, R] row-major: u = x·Aᵀ (forward) or du = s·dy·B (dx of the backward). */
  readonly a2: Binding;
  /** f32: [N, R] when trans2 (lora_B in the forward), else [R, N] (lora_A in the dx of the backward). */
  readonly w2: Binding;
  readonly trans2: boolean;
  /** Scale of the second product: s in the forward, 1 in the backward (s already in du). */
  readonly alpha2: number;
}

/**
 * Records out (=|+=) alpha·op(a)·op(w) (+ bias) + alpha2·a2·op(w2) in ONE pass (entry point `lora` of
 * shaders/matmul.wgsl): the tiled product over K, then a second tiled product over R in the same workgroup, summed in
 * the epilogue. Same as {@link matmul} followed by an accumulating matmul(a2, w2, alpha2), with the same fma order
 * (tests/gpu/lora-linear.test.ts checks it bit for bit on the test adapter). R = 0 gives plain {@link matmul}.
 * For K ≤ {@link regMaxKFor}(adapter) (`variant` 'auto') the register-blocked kernel's `reg_lora` entry does the same
 * (bit-identical; `reg4_lora` when op(a) rows can be read as vec4s, `reg4_lorav` when a2 and w2 can be too); 'tiled' forces the tiled `lora` entry and
 * 'scalar' the register-blocked one with scalar op(a) loads (tests, benches).
 * @throws as {@link matmul}; names a2 / w2 when their bindings are too small.
 */
export function matmulLora(ctx: GpuContext, enc: GPUCommandEncoder, args: MatmulLoraArgs, variant: 'auto' | 'tiled' | 'scalar' = 'auto'): void {
  const what = 'matmul.lora';
  requireSizes(what, { R: args.R });
  if (!Number.isFinite(args.alpha2)) throw new Error(`${what}: alpha2 = ${args.alpha2}; expected a finite number`);
  const bindings = prepare(ctx, args, what, { R: args.R, alpha2: args.alpha2 });
  const { M, N, R } = args;
  requireBinding(ctx, what, `a2 [M=${M}, R=${R}] f32`, args.a2, M * R * 4);
  requireBinding(ctx, what, `w2 ${args.trans2 ? `[N=${N}, R=${R}]` : `[R=${R}, N=${N}]`} f32`, args.w2, N * R * 4);
  if (variant !== 'tiled' && args.K <= regMaxKFor(ctx.adapter)) {
    const vec4Lora = args.R % 4 === 0 && (args.trans2 || args.N % 4 === 0);
    const entry = variant === 'auto' && vec4Rows(args) ? (vec4Lora ? 'reg4_lorav' : 'reg4_lora') : 'reg_lora';
    dispatch(ctx, enc, regSpec(args, entry, { LORA_TRANS_B: args.trans2 ? 1 : 0 }), [...bindings, args.a2, args.w2], linearGrid(ctx, regThreads(M, N), NAIVE_WG));
    return;
  }
  const base = specFor(args, 'forward');
  const spec: KernelSpec = { ...base, label: what, entryPoint: 'lora', bindings: LORA_BINDINGS, constants: { ...base.constants, LORA_TRANS_B: args.trans2 ? 1 : 0 } };
  const tiles = Math.ceil(M / TILE) * Math.ceil(N / TILE);
  dispatch(ctx, enc, spec, [...bindings, args.a2, args.w2], linearGrid(ctx, tiles, 1));
}
