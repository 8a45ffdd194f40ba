/**
 * Causal grouped-query attention kernels (forward and backward), FlashAttention-2 style: the [T, T]
 * probabilities are never stored; backward recomputes them from q, k and the saved logsumexp.
 * Two variants, chosen by head dim ({@link attentionVariant}): 'small' (shaders/attention_small.wgsl: one thread
 * per 4 consecutive rows in vec4 registers, no workgroup memory or barriers; D ≤ 32) and 'tiled' (shaders/attention_forward.wgsl,
 * shaders/attention_backward.wgsl: 16-row tiles through workgroup memory for D ≤ 128, 8-row tiles for D ≤ 256).
 * Options: a sliding window (Mistral / Qwen2 / Gemma 2–3 local layers) and logit soft-capping (Gemma 2/3).
 * Sources: Dao 2023 "FlashAttention-2" Alg. 1–2; HF `modeling_llama.py` `eager_attention_forward`, `repeat_kv`;
 * HF `masking_utils.py` `sliding_window_overlay`; HF `modeling_gemma3.py` `eager_attention_forward` (softcap).
 */
import forwardCode from '../../../shaders/attention_forward.wgsl?raw';
import backwardCode from '../../../shaders/attention_backward.wgsl?raw';
import smallCode from '../../../shaders/attention_small.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { DeviceLimitError, packUniform, scratchBuffer, uniform } from '../gpu/buffers';
import { requireBinding } from '../gpu/check';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';

/** Largest head dim the shaders support (8 threads per row × 32 private lanes in the 8-row tiles). */
export const ATTENTION_MAX_HEAD_DIM = 256;
/** Largest head dim of the 16-row tiles (4 threads per row × 32 private lanes; 12 KiB of workgroup memory). */
const WIDE_FROM = 128;
/** Largest head dim of the 'small' variant (8 vec4 registers per row in shaders/attention_small.wgsl). */
export const ATTENTION_SMALL_MAX_HEAD_DIM = 32;
/** Threads per workgroup of the 'small' variant. */
const SMALL_WG = 64;
/** Rows per thread of the 'small' variant (shader override ROWS, 1..4). */
export type AttentionSmallRows = 1 | 2 | 3 | 4;
/** Default rows per thread of the 'small' variant (bench/kernels.bench.ts: fastest of 1, 2, 4 on lavapipe and SwiftShader). */
export const ATTENTION_SMALL_ROWS: AttentionSmallRows = 4;

/**
 * 'small': one thread per {@link ATTENTION_SMALL_ROWS} consecutive query (or key) rows, no barriers — fastest where a barrier is expensive and D is small.
 * 'tiled': one workgroup per 16-row tile, the only one for D > 32.
 */
export type AttentionVariant = 'small' | 'tiled';

/** The variant used for head dim D when the caller does not force one: 'small' for D ≤ 32, else 'tiled'. */
export function attentionVariant(D: number): AttentionVariant {
  return D <= ATTENTION_SMALL_MAX_HEAD_DIM ? 'small' : 'tiled';
}

/** Shapes of one attention call. */
export interface AttentionShape {
  /** Batch rows. */
  readonly B: number;
  /** Sequence length (causal: row t sees keys 0..t, or t−window+1..t with a window). */
  readonly T: number;
  /** Query heads. */
  readonly H: number;
  /** Key/value heads; H must be a multiple of KV (query head h uses kv head floor(h / (H/KV))). */
  readonly KV: number;
  /** Head dim: multiple of 4 up to 128, multiple of 8 up to 256; independent of hidden size / H. */
  readonly D: number;
  /** Score scale, usually D^−0.5 (Gemma: query_pre_attn_scalar^−0.5). */
  readonly scale: number;
  /**
   * Sliding window W in keys: row t sees keys s with t − W < s ≤ t (HF masking_utils `sliding_window_overlay`,
   * config `sliding_window`). undefined or 0: full causal; W ≥ T gives the same bits as none. A uniform, so one
   * pipeline serves local and global layers.
   */
  readonly window?: number;
  /**
   * Logit soft-cap c: scores → c·tanh(scores / c) before the mask and softmax (Gemma 2/3 `attn_logit_softcapping`).
   * undefined or 0: none. An override constant (one pipeline per distinct cap).
   */
  readonly softcap?: number;
  /** Forces a variant (tests, benches); default {@link attentionVariant}(D). 'small' needs D ≤ 32. */
  readonly variant?: AttentionVariant;
  /**
   * Rows per thread of the 'small' variant (tests, benches; ignored by 'tiled'); default {@link ATTENTION_SMALL_ROWS}.
   * 1 is the one-row-per-thread kernel the register blocking replaced.
   */
  readonly smallRows?: AttentionSmallRows;
}

function validate(ctx: GpuContext, label: string, s: AttentionShape, bufs: ReadonlyArray<readonly [string, Binding, 'q' | 'kv' | 'lse']>): void {
  for (const [k, v] of Object.entries({ B: s.B, T: s.T, H: s.H, KV: s.KV, D: s.D }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${label}: ${k} must be a positive integer, got ${v}`);
  if (s.H % s.KV !== 0) throw new Error(`${label}: H = ${s.H} query heads is not a multiple of KV = ${s.KV} kv heads`);
  if (s.D % 4 !== 0 || s.D > ATTENTION_MAX_HEAD_DIM) throw new Error(`${label}: head dim D = ${s.D} must be a multiple of 4 and ≤ ${ATTENTION_MAX_HEAD_DIM}`);
  if (s.D > WIDE_FROM && s.D % 8 !== 0) throw new Error(`${label}: head dim D = ${s.D} above ${WIDE_FROM} must be a multiple of 8 (8 threads per row)`);
  if (s.variant === 'small' && s.D > ATTENTION_SMALL_MAX_HEAD_DIM) throw new Error(`${label}: the 'small' variant needs head dim D ≤ ${ATTENTION_SMALL_MAX_HEAD_DIM}, got ${s.D}`);
  if (s.smallRows !== undefined && ![1, 2, 3, 4].includes(s.smallRows)) throw new Error(`${label}: smallRows must be 1, 2, 3 or 4, got ${s.smallRows}`);
  if (!Number.isFinite(s.scale)) throw new Error(`${label}: scale must be finite, got ${s.scale}`);
  checkWindowSoftcap(label, s.window, s.softcap);
  const floats = { q: s.B * s.T * s.H * s.D, kv: s.B * s.T * s.KV * s.D, lse: s.B * s.H * s.T };
  const shapes = { q: `[B=${s.B}, T=${s.T}, H=${s.H}, D=${s.D}]`, kv: `[B=${s.B}, T=${s.T}, KV=${s.KV}, D=${s.D}]`, lse: `[B=${s.B}, H=${s.H}, T=${s.T}]` };
  for (const [name, b, kind] of bufs) requireBinding(ctx, label, `${name} ${shapes[kind]} f32`, b, floats[kind] * 4);
}

/**
 * Checks the optional window (a non-negative integer) and soft-cap (finite, ≥ 0) of an attention call.
 * @throws Error naming `label` and the bad value.
 */
export function checkWindowSoftcap(label: string, window: number | undefined, softcap: number | undefined): void {
  if (window !== undefined && !(Number.isInteger(window) && window >= 0)) throw new Error(`${label}: window must be a non-negative integer (0 = full causal), got ${window}`);
  if (softcap !== undefined && !(Number.isFinite(softcap) && softcap >= 0)) throw new Error(`${label}: softcap must be finite and ≥ 0 (0 = none), got ${softcap}`);
}

/** The window the shaders read, 1..keys: W when 0 < W < keys, else keys (full causal; the same bits as none). */
export function effectiveWindow(window: number | undefined, keys: number): number {
  return window && window < keys ? window : keys;
}

/** Override constants shared by every variant: SOFTCAP only when a cap is set (no cap: today's pipeline keys). */
export function softcapConstant(softcap: number | undefined): Record<string, number> {
  return softcap ? { SOFTCAP: softcap } : {};
}

function params(ctx: GpuContext, s: AttentionShape, label: string): GPUBuffer {
  const fields = [{ u32: s.B }, { u32: s.T }, { u32: s.H }, { u32: s.KV }, { f32: s.scale }, { u32: effectiveWindow(s.window, s.T) }];
  return uniform(ctx, packUniform(fields), label);
}

/** Override constants and thread count (one per ROWS-row block of each (b, head)) of a 'small' dispatch over `heads` heads. */
function small(s: AttentionShape, heads: number): { constants: Record<string, number>; threads: number } {
  const rows = s.smallRows ?? ATTENTION_SMALL_ROWS;
  return { constants: { D: s.D, WG: SMALL_WG, ROWS: rows, ...softcapConstant(s.softcap) }, threads: s.B * heads * Math.ceil(s.T / rows) };
}

/**
 * Tile rows and override constants of the 'tiled' shaders: D ≤ 128 keeps the shaders' defaults (BR = BC = 16,
 * TPR = 4: 12 KiB of workgroup memory at D = 128, bit for bit the kernels before D > 128 existed); D ≤ 256 uses
 * 8-row tiles and 8 threads per row (tile BR·D + partial dots WG·BR (+ 2·BR in the backward) floats: 10 KiB at
 * D = 256, within the 16 KiB that WebGPU guarantees as maxComputeWorkgroupStorageSize).
 * @throws DeviceLimitError when the adapter's maxComputeWorkgroupStorageSize is below what the tiles need.
 */
function tiled(ctx: GpuContext, label: string, s: AttentionShape, pass: 'forward' | 'backward'): { rows: number; constants: Record<string, number> } {
  const cap = softcapConstant(s.softcap);
  const [rows, tpr] = s.D <= WIDE_FROM ? [16, 4] : [8, 8];
  const bytes = (rows * s.D + rows * tpr * rows + (pass === 'backward' ? 2 * rows : 0)) * 4;
  const limit = ctx.limits.maxComputeWorkgroupStorageSize;
  if (bytes > limit) throw new DeviceLimitError('maxComputeWorkgroupStorageSize', bytes, limit, `${label} tiles at head dim D = ${s.D}`);
  if (s.D <= WIDE_FROM) return { rows, constants: { D: s.D, ...cap } };
  // The backward uses BR for query and key tiles alike; the forward has a separate key-tile size BC.
  return { rows, constants: { D: s.D, BR: rows, TPR: tpr, ...(pass === 'forward' ? { BC: rows } : {}), ...cap } };
}

/** Workgroup grid for `groups` workgroups, linearised as g = wid.x + wid.y · num_workgroups.x. */
function grid(ctx: GpuContext, groups: number): [number, number] {
  return linearGrid(ctx, groups, 1);
}

/**
 * Records the forward pass (variant per {@link AttentionShape.variant}): out_t = Σ_s softmax_s(S_ts)·v_s per (b, query head) over
 * the keys row t sees (s ≤ t, and s > t − window with a window), S_ts = scale·q_t·k_s (soft-capped: c·tanh(S/c)), and
 * lse[b, h, t] = log Σ_s exp(S_ts) (saved for {@link attentionBackward}).
 * @param args.q f32 [B, T, H, D]; args.k, args.v f32 [B, T, KV, D]; args.out f32 [B, T, H, D] (overwritten);
 *   args.lse f32 [B, H, T] (overwritten).
 * @throws Error naming the argument when a size is invalid (H not a multiple of KV, D not a multiple of 4, above
 *   256, not a multiple of 8 above 128, or above 32 for variant 'small'; window not a non-negative integer; softcap
 *   negative or not finite) or a buffer is too small; DeviceLimitError when a tensor exceeds maxStorageBufferBindingSize
 *   or the tiles exceed maxComputeWorkgroupStorageSize.
 */
export function attentionForward(
  ctx: GpuContext,
  enc: GPUCommandEncoder,
  args: AttentionShape & { readonly q: Binding; readonly k: Binding; readonly v: Binding; readonly out: Binding; readonly lse: Binding },
): void {
  const label = 'attention.forward';
  validate(ctx, label, args, [['q', args.q, 'q'], ['k', args.k, 'kv'], ['v', args.v, 'kv'], ['out', args.out, 'q'], ['lse', args.lse, 'lse']]);
  const bindings = ['uniform', 'read', 'read', 'read', 'rw', 'rw'] as const;
  const buffers = [params(ctx, args, `${label}.params`), args.q, args.k, args.v, args.out, args.lse];
  if ((args.variant ?? attentionVariant(args.D)) === 'small') {
    const { constants, threads } = small(args, args.H);
    const spec: KernelSpec = { label: `${label}.small`, code: smallCode, entryPoint: 'forward', bindings, constants };
    dispatch(ctx, enc, spec, buffers, linearGrid(ctx, threads, SMALL_WG));
    return;
  }
  const { rows, constants } = tiled(ctx, label, args, 'forward');
  const spec: KernelSpec = { label, code: forwardCode, entryPoint: 'forward', bindings, constants };
  const groups = args.B * args.H * Math.ceil(args.T / rows);
  dispatch(ctx, enc, spec, buffers, grid(ctx, groups));
}

/**
 * Records the backward pass (overwrites dq, dk, dv). P is recomputed from q, k and lse:
 * P_ts = exp(S_ts − lse_t) for the keys row t sees, else 0; delta_t = Σ dO_t ⊙ O_t; dS_ts = P_ts (dO_t·v_s − delta_t),
 * times 1 − tanh²(scale·q_t·k_s / c) with a soft-cap c;
 * dq_t = scale Σ_s dS_ts k_s; dk_s = scale Σ_t dS_ts q_t and dv_s = Σ_t P_ts dO_t, both summed over the H/KV
 * query heads of the group inside one workgroup per (b, kv head, key tile) ('tiled') or one thread per
 * (b, kv head, block of smallRows key rows) ('small') — no atomics, deterministic.
 * Two dispatches (dq then dk/dv) sharing an f32 [B, H, T] delta scratch buffer kept per context
 * (gpu/buffers.ts scratchBuffer), so no buffer or bind group is created per call.
 * @param args.out, args.lse the forward's outputs; args.dout f32 [B, T, H, D]; args.dq f32 [B, T, H, D];
 *   args.dk, args.dv f32 [B, T, KV, D].
 * @throws Error as {@link attentionForward} (also for variant 'small' with D > 32), and DeviceLimitError if the
 *   scratch buffer cannot be created.
 */
export function attentionBackward(
  ctx: GpuContext,
  enc: GPUCommandEncoder,
  args: AttentionShape & {
    readonly q: Binding;
    readonly k: Binding;
    readonly v: Binding;
    readonly out: Binding;
    readonly lse: Binding;
    readonly dout: Binding;
    readonly dq: Binding;
    readonly dk: Binding;
    readonly dv: Binding;
  },
): void {
  const label = 'attention.backward';
  validate(ctx, label, args, [
    ['q', args.q, 'q'], ['k', args.k, 'kv'], ['v', args.v, 'kv'], ['out', args.out, 'q'], ['lse', args.lse, 'lse'],
    ['dout', args.dout, 'q'], ['dq', args.dq, 'q'], ['dk', args.dk, 'kv'], ['dv', args.dv, 'kv'],
  ]);
  const delta = scratchBuffer(ctx, 'attention.delta', args.B * args.H * args.T * 4);
  const p = params(ctx, args, `${label}.params`);
  const common = ['uniform', 'read', 'read', 'read', 'read', 'read', 'read'] as const;
  const dqBuffers = [p, args.q, args.k, args.v, args.lse, args.dout, args.out, delta, args.dq];
  const dkdvBuffers = [p, args.q, args.k, args.v, args.lse, args.dout, delta, args.dk, args.dv];
  if ((args.variant ?? attentionVariant(args.D)) === 'small') {
    const { constants, threads: dqThreads } = small(args, args.H);
    const dqSpec: KernelSpec = { label: `${label}.small.dq`, code: smallCode, entryPoint: 'backward_dq', bindings: [...common, 'rw', 'rw'], constants };
    const dkdvSpec: KernelSpec = { label: `${label}.small.dkdv`, code: smallCode, entryPoint: 'backward_dkdv', bindings: [...common, 'rw', 'rw'], constants };
    dispatch(ctx, enc, dqSpec, dqBuffers, linearGrid(ctx, dqThreads, SMALL_WG));
    dispatch(ctx, enc, dkdvSpec, dkdvBuffers, linearGrid(ctx, small(args, args.KV).threads, SMALL_WG));
    return;
  }
  const { rows, constants } = tiled(ctx, label, args, 'backward');
  const tiles = Math.ceil(args.T / rows);
  const dqSpec: KernelSpec = { label: `${label}.dq`, code: backwardCode, entryPoint: 'backward_dq', bindings: [...common, 'rw', 'rw'], constants };
  const dkdvSpec: KernelSpec = { label: `${label}.dkdv`, code: backwardCode, entryPoint: 'backward_dkdv', bindings: [...common, 'rw', 'rw'], constants };
  dispatch(ctx, enc, dqSpec, dqBuffers, grid(ctx, args.B * args.H * tiles));
  dispatch(ctx, enc, dkdvSpec, dkdvBuffers, grid(ctx, args.B * args.KV * tiles));
}
