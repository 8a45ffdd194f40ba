/**
 * Causal grouped-query attention kernels (forward and backward), FlashAttention-2 style: the [T, T]
 * probabilities are never stored; backward recomputes them from q, k and the saved logsumexp.
 * Two variants, chosen by head dim ({@link attentionVariant}): 'small' (shaders/attention_small.wgsl: one thread
 * per 4 consecutive rows in vec4 registers, no workgroup memory or barriers; D ≤ 32) and 'tiled' (shaders/attention_forward.wgsl,
 * shaders/attention_backward.wgsl: 16-row tiles through workgroup memory; D ≤ 128).
 * Sources: Dao 2023 "FlashAttention-2" Alg. 1–2; HF `modeling_llama.py` `eager_attention_forward`, `repeat_kv`.
 */
import forwardCode from '../../../shaders/attention_forward.wgsl?raw';
import backwardCode from '../../../shaders/attention_backward.wgsl?raw';
import smallCode from '../../../shaders/attention_small.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, scratchBuffer, uniform } from '../gpu/buffers';
import { requireBinding } from '../gpu/check';
import { dispatch, linearGrid, type Binding, type KernelSpec } from '../gpu/pipeline';

/** Rows per tile in the shaders (query rows in forward / dq, key rows in dkdv). */
const TILE = 16;
/** Largest head dim the shaders support (4 threads per row × 32 private lanes). */
export const ATTENTION_MAX_HEAD_DIM = 128;
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
  /** Sequence length (causal: row t sees keys 0..t). */
  readonly T: number;
  /** Query heads. */
  readonly H: number;
  /** Key/value heads; H must be a multiple of KV (query head h uses kv head floor(h / (H/KV))). */
  readonly KV: number;
  /** Head dim: multiple of 4, at most 128; independent of hidden size / H. */
  readonly D: number;
  /** Score scale, usually D^−0.5. */
  readonly scale: number;
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
  if (s.variant === 'small' && s.D > ATTENTION_SMALL_MAX_HEAD_DIM) throw new Error(`${label}: the 'small' variant needs head dim D ≤ ${ATTENTION_SMALL_MAX_HEAD_DIM}, got ${s.D}`);
  if (s.smallRows !== undefined && ![1, 2, 3, 4].includes(s.smallRows)) throw new Error(`${label}: smallRows must be 1, 2, 3 or 4, got ${s.smallRows}`);
  if (!Number.isFinite(s.scale)) throw new Error(`${label}: scale must be finite, got ${s.scale}`);
  const floats = { q: s.B * s.T * s.H * s.D, kv: s.B * s.T * s.KV * s.D, lse: s.B * s.H * s.T };
  const shapes = { q: `[B=${s.B}, T=${s.T}, H=${s.H}, D=${s.D}]`, kv: `[B=${s.B}, T=${s.T}, KV=${s.KV}, D=${s.D}]`, lse: `[B=${s.B}, H=${s.H}, T=${s.T}]` };
  for (const [name, b, kind] of bufs) requireBinding(ctx, label, `${name} ${shapes[kind]} f32`, b, floats[kind] * 4);
}

function params(ctx: GpuContext, s: AttentionShape, label: string): GPUBuffer {
  return uniform(ctx, packUniform([{ u32: s.B }, { u32: s.T }, { u32: s.H }, { u32: s.KV }, { f32: s.scale }]), label);
}

/** Override constants and thread count (one per ROWS-row block of each (b, head)) of a 'small' dispatch over `heads` heads. */
function small(s: AttentionShape, heads: number): { constants: Record<string, number>; threads: number } {
  const rows = s.smallRows ?? ATTENTION_SMALL_ROWS;
  return { constants: { D: s.D, WG: SMALL_WG, ROWS: rows }, threads: s.B * heads * Math.ceil(s.T / rows) };
}

/** Workgroup grid for `groups` workgroups, linearised as g = wid.x + wid.y · num_workgroups.x. */
function grid(ctx: GpuContext, groups: number): [number, number] {
  return linearGrid(ctx, groups, 1);
}

/**
 * Records the forward pass (variant per {@link AttentionShape.variant}): out_t = Σ_{s≤t} softmax_s(scale·q_t·k_s)·v_s per (b, query head), and
 * lse[b, h, t] = log Σ_{s≤t} exp(scale·q_t·k_s) (saved for {@link attentionBackward}).
 * @param args.q f32 [B, T, H, D]; args.k, args.v f32 [B, T, KV, D]; args.out f32 [B, T, H, D] (overwritten);
 *   args.lse f32 [B, H, T] (overwritten).
 * @throws Error naming the argument when a size is invalid (H not a multiple of KV, D not a multiple of 4 or
 *   above 128, or above 32 for variant 'small') or a buffer is too small; DeviceLimitError when a tensor exceeds maxStorageBufferBindingSize.
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
  const spec: KernelSpec = { label, code: forwardCode, entryPoint: 'forward', bindings, constants: { D: args.D } };
  const groups = args.B * args.H * Math.ceil(args.T / TILE);
  dispatch(ctx, enc, spec, buffers, grid(ctx, groups));
}

/**
 * Records the backward pass (overwrites dq, dk, dv). P is recomputed from q, k and lse:
 * P_ts = exp(scale·q_t·k_s − lse_t); delta_t = Σ dO_t ⊙ O_t; dS_ts = P_ts (dO_t·v_s − delta_t);
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
  const tiles = Math.ceil(args.T / TILE);
  const dqSpec: KernelSpec = { label: `${label}.dq`, code: backwardCode, entryPoint: 'backward_dq', bindings: [...common, 'rw', 'rw'], constants: { D: args.D } };
  const dkdvSpec: KernelSpec = { label: `${label}.dkdv`, code: backwardCode, entryPoint: 'backward_dkdv', bindings: [...common, 'rw', 'rw'], constants: { D: args.D } };
  dispatch(ctx, enc, dqSpec, dqBuffers, grid(ctx, args.B * args.H * tiles));
  dispatch(ctx, enc, dkdvSpec, dkdvBuffers, grid(ctx, args.B * args.KV * tiles));
}
