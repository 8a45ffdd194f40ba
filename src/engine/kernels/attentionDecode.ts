/**
 * One-query attention over the KV cache (the decode step of generation): shaders/attention_decode.wgsl.
 * out[h] = Σ_{n−W≤s<n} softmax_s(S_s)·v[s, g] with S_s = scale·q[h]·k[s, g] (soft-capped: c·tanh(S/c)) and
 * g = floor(h / (H/KV)) (HF `eager_attention_forward` with `repeat_kv`, one query row; window: HF masking_utils
 * `sliding_window_overlay`; soft-cap: HF modeling_gemma3.py). Causality is the caller's: the cache holds rows
 * 0..n−1, the new token's (absolute position n−1) last.
 */
import code from '../../../shaders/attention_decode.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { requireBinding, requireSizes } from '../gpu/check';
import { dispatch, type Binding, type KernelSpec } from '../gpu/pipeline';
import { ATTENTION_MAX_HEAD_DIM, checkWindowSoftcap, effectiveWindow, softcapConstant } from './attention';

/** Arguments of {@link attentionDecode}. */
export interface AttentionDecodeArgs {
  /** Keys to attend to (cache rows 0..n−1), 1 ≤ n ≤ maxT. */
  readonly n: number;
  /** Rows the cache (and the scores scratch) can hold. */
  readonly maxT: number;
  readonly H: number;
  readonly KV: number;
  /** Head dim: multiple of 4, at most 256. */
  readonly D: number;
  /** Score scale, usually D^−0.5. */
  readonly scale: number;
  /** Sliding window W: only cache rows s ≥ n − W are attended to. undefined or 0: all n rows (a uniform). */
  readonly window?: number;
  /** Logit soft-cap c (scores → c·tanh(scores/c)); undefined or 0: none (an override constant). */
  readonly softcap?: number;
  /** f32 [H, D]: the query of the new token (after RoPE). */
  readonly q: Binding;
  /** f32 [maxT, KV, D]: keys (after RoPE) of positions 0..n−1. */
  readonly kCache: Binding;
  /** f32 [maxT, KV, D]: values of positions 0..n−1. */
  readonly vCache: Binding;
  /** f32 [H, D] (overwritten). */
  readonly out: Binding;
  /** f32 [H, maxT] scratch. */
  readonly scores: Binding;
}

/**
 * Records the decode attention: one workgroup of 64 threads per query head.
 * @throws Error naming the argument when a size is invalid (n outside [1, maxT], H not a multiple of KV, D not a
 *   multiple of 4 or above 256, window not a non-negative integer, softcap negative or not finite) or a binding is
 *   too small; DeviceLimitError when a tensor exceeds a binding.
 */
export function attentionDecode(ctx: GpuContext, enc: GPUCommandEncoder, a: AttentionDecodeArgs): void {
  const label = 'attention.decode';
  requireSizes(label, { n: a.n, maxT: a.maxT, H: a.H, KV: a.KV, D: a.D });
  if (a.n < 1 || a.n > a.maxT) throw new Error(`${label}: n = ${a.n} keys; expected 1 ≤ n ≤ maxT = ${a.maxT}`);
  if (a.KV < 1 || a.H % a.KV !== 0) throw new Error(`${label}: H = ${a.H} query heads is not a multiple of KV = ${a.KV} kv heads`);
  if (a.D % 4 !== 0 || a.D < 4 || a.D > ATTENTION_MAX_HEAD_DIM) throw new Error(`${label}: head dim D = ${a.D} must be a multiple of 4 and ≤ ${ATTENTION_MAX_HEAD_DIM}`);
  if (!Number.isFinite(a.scale)) throw new Error(`${label}: scale must be finite, got ${a.scale}`);
  checkWindowSoftcap(label, a.window, a.softcap);
  requireBinding(ctx, label, `q [H=${a.H}, D=${a.D}] f32`, a.q, a.H * a.D * 4);
  requireBinding(ctx, label, `kCache [maxT=${a.maxT}, KV=${a.KV}, D=${a.D}] f32`, a.kCache, a.maxT * a.KV * a.D * 4);
  requireBinding(ctx, label, `vCache [maxT=${a.maxT}, KV=${a.KV}, D=${a.D}] f32`, a.vCache, a.maxT * a.KV * a.D * 4);
  requireBinding(ctx, label, `out [H=${a.H}, D=${a.D}] f32`, a.out, a.H * a.D * 4);
  requireBinding(ctx, label, `scores [H=${a.H}, maxT=${a.maxT}] f32`, a.scores, a.H * a.maxT * 4);
  const spec: KernelSpec = { label, code, entryPoint: 'decode', bindings: ['uniform', 'read', 'read', 'read', 'rw', 'rw'], constants: { D: a.D, ...softcapConstant(a.softcap) } };
  const fields = [{ u32: a.n }, { u32: a.H }, { u32: a.KV }, { u32: a.maxT }, { f32: a.scale }, { u32: effectiveWindow(a.window, a.n) }];
  const params = uniform(ctx, packUniform(fields), `${label}.params`);
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (a.H > max) throw new Error(`${label}: H = ${a.H} heads exceeds maxComputeWorkgroupsPerDimension ${max}`);
  dispatch(ctx, enc, spec, [params, a.q, a.kCache, a.vCache, a.out, a.scores], [a.H]);
}
