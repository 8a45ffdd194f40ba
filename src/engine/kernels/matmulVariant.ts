/**
 * The choice of matmul kernel by shape (kernels/matmul.ts records it): kept apart from the kernels so the memory plan
 * (engine/plan/memory.ts) can size the split-K scratch without importing WGSL.
 */

import type { AdapterSummary } from '../gpu/context';

/** Largest thin dimension (N, or M with `rows`) {@link matmulThin} takes: 4 vec4 accumulators per thread. */
export const MATMUL_THIN_MAX = 16;

/** Threads of the register-blocked kernel (matmulReg, matmulSplitK per chunk): one per 4×4 output block. */
export function regThreads(M: number, N: number): number {
  return Math.ceil(M / 4) * Math.ceil(N / 4);
}

/** Which entry point {@link matmulAuto} uses for a shape. */
export type MatmulVariant = 'tiled' | 'thinN' | 'thinM' | 'reg' | 'splitK';

/**
 * Largest K {@link matmulVariant} sends to the register-blocked kernel on a GPU (above it the tiled kernel's reuse of
 * workgroup memory should win; not yet measured on a real GPU). CPU adapters use {@link regMaxKFor}.
 */
export const MATMUL_REG_MAX_K = 256;

/** What {@link regMaxKFor} reads of an adapter (gpu/context.ts AdapterSummary). */
type AdapterKind = Pick<AdapterSummary, 'isFallbackAdapter' | 'architecture' | 'description' | 'vendor'>;
/** regMaxKFor per adapter object: matmulAuto asks on every dispatch. */
const regMaxK = new WeakMap<AdapterKind, number>();

/**
 * The K limit of the register-blocked kernel for an adapter: unlimited on CPU WebGPU adapters (SwiftShader, Mesa's
 * lavapipe/llvmpipe), where workgroup barriers are expensive and the register-blocked kernel is 1.5–2.5× the tiled
 * one even at 512³–1024³ (bench/step.bench.ts `matmul_gflops_*`); {@link MATMUL_REG_MAX_K} elsewhere.
 */
export function regMaxKFor(adapter: AdapterKind): number {
  let k = regMaxK.get(adapter);
  if (k === undefined) {
    const cpu = adapter.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(`${adapter.architecture} ${adapter.description} ${adapter.vendor}`);
    regMaxK.set(adapter, (k = cpu ? Number.POSITIVE_INFINITY : MATMUL_REG_MAX_K));
  }
  return k;
}
/** Smallest K {@link matmulVariant} splits for a thin output (LoRA weight gradients, K = tokens of the micro-batch). */
export const MATMUL_SPLITK_MIN_K = 512;
/** Split-K only while the output has fewer 4×4 blocks than this (64 workgroups of 64 threads: enough to fill an adapter). */
export const MATMUL_SPLITK_MAX_BLOCKS = 4096;
/** Reduction length of one split-K chunk (even, so 16-bit weight word pairs never straddle chunks). */
export const MATMUL_SPLITK_CHUNK = 128;

/**
 * The one place that picks a matmul variant by shape (measured on lavapipe and SwiftShader, bench/matmul-shapes.bench.ts
 * and the demo profile):
 * - a thin output (N ≤ 16, or M ≤ 16: LoRA rank-r products) with fewer than 4096 4×4 blocks over a long reduction
 *   (K ≥ 512: dA = duᵀ·x and dB = s·dyᵀ·u, K = tokens) goes to `matmulSplitK`: one thread per block would leave
 *   most of the adapter idle (2–4 workgroups at the demo's shapes), so the reduction is cut into chunks of 128
 *   (2.3–3.6× at the demo's shapes on lavapipe and SwiftShader);
 * - a short reduction (K ≤ regMaxK, 256 on a GPU, any K on a CPU adapter: {@link regMaxKFor}; every linear of a
 *   small model, and u = x·Aᵀ, du = s·dy·B there) to `matmulReg`,
 *   whose register blocks need no workgroup memory or barriers (1.3–2.5× the tiled kernel at the demo's shapes on
 *   SwiftShader, 1.3–2.8× the thin kernel at rank 8);
 * - any other thin output to `matmulThin`, where a 64×64 tile would be mostly padding;
 * - everything else to the tiled kernel.
 * All variants but split-K give bit-identical results (same fma order over K); split-K regroups the sum by chunk
 * (deterministic, within f32 rounding of the others: tests/gpu/matmul-splitk.test.ts).
 */
export function matmulVariant(M: number, N: number, K: number, regMaxK = MATMUL_REG_MAX_K): MatmulVariant {
  const thin = N <= MATMUL_THIN_MAX || M <= MATMUL_THIN_MAX;
  if (thin && K >= MATMUL_SPLITK_MIN_K && regThreads(M, N) < MATMUL_SPLITK_MAX_BLOCKS) return 'splitK';
  if (K <= regMaxK) return 'reg';
  if (N <= MATMUL_THIN_MAX && N <= M) return 'thinN';
  if (M <= MATMUL_THIN_MAX) return 'thinM';
  return 'tiled';
}

/**
 * f32 values of the scratch matmulSplitK needs for out [M, N] over K (S = ceil(K / chunk) partial outputs), or 0 when
 * {@link matmulVariant} does not split this shape.
 */
export function splitKScratchFloats(M: number, N: number, K: number): number {
  return matmulVariant(M, N, K) === 'splitK' ? Math.ceil(K / MATMUL_SPLITK_CHUNK) * M * N : 0;
}
