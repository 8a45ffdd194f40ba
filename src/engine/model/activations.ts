/**
 * Activation buffers for one micro-batch of at most B×T tokens (M = B·T rows): what the forward pass saves for
 * backward (llm.c style: forward saves, backward reads) plus backward scratch. All f32 except ids/targets (i32).
 * With `recompute` (activation recomputation / gradient checkpointing, Chen et al. 2016 "Training Deep Nets with
 * Sublinear Memory Cost"; HF `gradient_checkpointing_enable`), only the residual entering each layer is kept per
 * layer; one shared set of layer activations is the scratch the backward re-runs each layer's forward into.
 * The loss head holds one vocabulary chunk of logits [M, Vc] (model/head.ts), never [M, V].
 * The byte count (`bytes`) is what src/engine/plan/memory.ts predicts; keep the two in step.
 */
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { createStorage } from '../gpu/buffers';
import { CE_STATS_PER_ROW } from '../kernels/crossEntropyChunk';
import type { TargetModule } from '../train/types';
import { DEFAULT_VOCAB_CHUNK_ROWS, vocabChunkRows } from './vocabChunks';

/** Saved activations of one decoder layer. Shapes use M = B·T. */
export interface LayerActivations {
  /** rstd of input_layernorm [M] */
  readonly rstd1: GPUBuffer;
  /** input_layernorm output [M, C] */
  readonly h1: GPUBuffer;
  /** q, k, v after (q/k-norm and) RoPE: [M, H·D], [M, KV·D], [M, KV·D] */
  readonly q: GPUBuffer;
  readonly k: GPUBuffer;
  readonly v: GPUBuffer;
  /** qwen3: q/k projections before q_norm/k_norm [M, H·D], [M, KV·D], and their rstd [M·H], [M·KV] */
  readonly qPre: GPUBuffer | null;
  readonly kPre: GPUBuffer | null;
  readonly rstdQ: GPUBuffer | null;
  readonly rstdK: GPUBuffer | null;
  /** attention output (heads concatenated) [M, H·D] and log-sum-exp [B, H, T] */
  readonly attn: GPUBuffer;
  readonly lse: GPUBuffer;
  /** residual after attention [M, C] */
  readonly xMid: GPUBuffer;
  readonly rstd2: GPUBuffer;
  /** post_attention_layernorm output [M, C] */
  readonly h2: GPUBuffer;
  /** gate_proj, up_proj outputs and silu(gate)·up [M, I] */
  readonly gate: GPUBuffer;
  readonly up: GPUBuffer;
  readonly act: GPUBuffer;
  /** LoRA intermediate u = x·Aᵀ [M, R] per targeted module */
  readonly loraU: ReadonlyMap<TargetModule, GPUBuffer>;
}

/** All activations and scratch for micro-batches up to maxB × maxT. */
export interface Activations {
  readonly maxB: number;
  readonly maxT: number;
  /** true: `layers` holds ONE shared set, refilled per layer (see {@link layerActs}); resid is still kept per layer. */
  readonly recompute: boolean;
  /** token ids [M] i32 and shifted targets [M] i32 (−100 = ignore) */
  readonly ids: GPUBuffer;
  readonly targets: GPUBuffer;
  /** residual stream entering layer l (l = 0..L; [L] is the final one) [M, C] */
  readonly resid: readonly GPUBuffer[];
  /** L sets, or 1 shared set when recompute */
  readonly layers: readonly LayerActivations[];
  readonly rstdF: GPUBuffer;
  readonly hF: GPUBuffer;
  /** Vc: vocabulary rows per head chunk (vocabChunks.vocabChunkRows for M = maxB·maxT) */
  readonly vocabChunkRows: number;
  /** one chunk of logits [M, Vc] (overwritten in place by its dlogits in the backward) */
  readonly logitsChunk: GPUBuffer;
  /** online log-sum-exp statistics per row [M, 4] (max, Σexp, target logit, lse) */
  readonly headStats: GPUBuffer;
  /** per-row cross-entropy [M] */
  readonly losses: GPUBuffer;
  /** backward scratch */
  readonly dX: GPUBuffer;
  readonly dH: GPUBuffer;
  readonly dAttn: GPUBuffer;
  readonly dq: GPUBuffer;
  readonly dk: GPUBuffer;
  readonly dv: GPUBuffer;
  readonly dqPre: GPUBuffer | null;
  readonly dkPre: GPUBuffer | null;
  readonly dGate: GPUBuffer;
  readonly dUp: GPUBuffer;
  readonly dAct: GPUBuffer;
  readonly dU: GPUBuffer;
  /** LoRA dropout scratch [M, max(C, I, H·D)]: dropout(x) of the current linear, and its gradient (null without dropout) */
  readonly dropX: GPUBuffer | null;
  readonly dropDX: GPUBuffer | null;
  /** bytes allocated */
  readonly bytes: number;
  destroy(): void;
}

/** Options of {@link createActivations}. */
export interface ActivationOptions {
  /** Allocate the backward scratch (default true); false gives 4-byte placeholders (forward / eval only). */
  readonly withBackward?: boolean;
  /** Keep one shared set of layer activations and recompute each layer in the backward (default false). */
  readonly recompute?: boolean;
  /** Most vocabulary rows per head chunk (default 16384); the device limits may lower it. */
  readonly vocabChunkRows?: number;
  /** Allocate the LoRA-dropout scratch (dropX, dropDX) — needed when lora_dropout > 0 (default false). */
  readonly dropout?: boolean;
}

/** The activations of layer `l` (the shared set when acts.recompute). */
export function layerActs(acts: Activations, l: number): LayerActivations {
  const a = acts.layers[acts.recompute ? 0 : l];
  if (!a) throw new Error(`activations: no layer ${l} (${acts.layers.length} sets allocated)`);
  return a;
}

/**
 * Allocates activations for micro-batches of up to maxB × maxT tokens.
 * @param r LoRA rank (0 when no LoRA); targets = modules that get a saved u buffer.
 * @throws DeviceLimitError (from createStorage) when a buffer exceeds the device's limits; the message names it.
 *   VocabChunkError when no vocabulary chunk fits the binding limit for M = maxB·maxT.
 */
export function createActivations(ctx: GpuContext, cfg: ModelConfig, maxB: number, maxT: number, r: number, targets: readonly TargetModule[], opts: ActivationOptions = {}): Activations {
  const M = maxB * maxT;
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: KV, headDim: D, vocabSize: V } = cfg;
  const withBackward = opts.withBackward ?? true;
  const recompute = opts.recompute ?? false;
  const Vc = vocabChunkRows(V, C, M, ctx.limits, opts.vocabChunkRows ?? DEFAULT_VOCAB_CHUNK_ROWS);
  const owned: GPUBuffer[] = [];
  let bytes = 0;
  const f32 = (n: number, label: string) => {
    let b: GPUBuffer;
    try {
      b = createStorage(ctx, n * 4, label);
    } catch (e) {
      owned.forEach((x) => x.destroy());
      throw e;
    }
    owned.push(b);
    bytes += b.size;
    return b;
  };
  const layers: LayerActivations[] = [];
  for (let l = 0; l < (recompute ? 1 : cfg.numLayers); l++) {
    const p = recompute ? 'act.layer' : `act.l${l}`;
    const loraU = new Map<TargetModule, GPUBuffer>();
    if (r > 0) for (const m of targets) loraU.set(m, f32(M * r, `${p}.${m}.lora_u`));
    layers.push({
      rstd1: f32(M, `${p}.rstd1`),
      h1: f32(M * C, `${p}.h1`),
      q: f32(M * H * D, `${p}.q`),
      k: f32(M * KV * D, `${p}.k`),
      v: f32(M * KV * D, `${p}.v`),
      qPre: cfg.qkNorm ? f32(M * H * D, `${p}.q_pre`) : null,
      kPre: cfg.qkNorm ? f32(M * KV * D, `${p}.k_pre`) : null,
      rstdQ: cfg.qkNorm ? f32(M * H, `${p}.rstd_q`) : null,
      rstdK: cfg.qkNorm ? f32(M * KV, `${p}.rstd_k`) : null,
      attn: f32(M * H * D, `${p}.attn`),
      lse: f32(maxB * H * maxT, `${p}.lse`),
      xMid: f32(M * C, `${p}.x_mid`),
      rstd2: f32(M, `${p}.rstd2`),
      h2: f32(M * C, `${p}.h2`),
      gate: f32(M * I, `${p}.gate`),
      up: f32(M * I, `${p}.up`),
      act: f32(M * I, `${p}.act`),
      loraU,
    });
  }
  const resid = Array.from({ length: cfg.numLayers + 1 }, (_, l) => f32(M * C, `act.resid${l}`));
  const bw = (n: number, label: string) => (withBackward ? f32(n, label) : f32(1, label));
  return {
    maxB,
    maxT,
    recompute,
    ids: f32(M, 'act.input_ids'),
    targets: f32(M, 'act.targets'),
    resid,
    layers,
    rstdF: f32(M, 'act.rstd_final'),
    hF: f32(M * C, 'act.h_final'),
    vocabChunkRows: Vc,
    logitsChunk: f32(M * Vc, 'act.logits_chunk'),
    headStats: f32(M * CE_STATS_PER_ROW, 'act.head_stats'),
    losses: f32(M, 'act.losses'),
    dX: bw(M * C, 'grad.resid'),
    dH: bw(M * C, 'grad.h'),
    dAttn: bw(M * H * D, 'grad.attn'),
    dq: bw(M * H * D, 'grad.q'),
    dk: bw(M * KV * D, 'grad.k'),
    dv: bw(M * KV * D, 'grad.v'),
    dqPre: cfg.qkNorm ? bw(M * H * D, 'grad.q_pre') : null,
    dkPre: cfg.qkNorm ? bw(M * KV * D, 'grad.k_pre') : null,
    dGate: bw(M * I, 'grad.gate'),
    dUp: bw(M * I, 'grad.up'),
    dAct: bw(M * I, 'grad.act'),
    dU: bw(M * Math.max(r, 1), 'grad.lora_u'),
    dropX: opts.dropout ? f32(M * Math.max(C, I, H * D), 'act.lora_dropout_x') : null,
    dropDX: opts.dropout && withBackward ? f32(M * Math.max(C, I, H * D), 'grad.lora_dropout_x') : null,
    bytes,
    destroy: () => owned.forEach((b) => b.destroy()),
  };
}
