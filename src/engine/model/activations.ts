/**
 * Activation buffers for one micro-batch of at most B×T tokens (M = B·T rows): what the forward pass saves for
 * backward (llm.c style: forward saves, backward reads) plus backward scratch. All f32 except ids/targets (i32).
 */
import type { ModelConfig } from '../../io/config/types';
import type { GpuContext } from '../gpu/context';
import { createStorage } from '../gpu/buffers';
import type { TargetModule } from '../train/types';

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
  /** token ids [M] i32 and shifted targets [M] i32 (−100 = ignore) */
  readonly ids: GPUBuffer;
  readonly targets: GPUBuffer;
  /** residual stream entering layer l (l = 0..L; [L] is the final one) [M, C] */
  readonly resid: readonly GPUBuffer[];
  readonly layers: readonly LayerActivations[];
  readonly rstdF: GPUBuffer;
  readonly hF: GPUBuffer;
  /** logits [M, V] (overwritten in place by dlogits) */
  readonly logits: GPUBuffer;
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
  /** bytes allocated */
  readonly bytes: number;
  destroy(): void;
}

/**
 * Allocates activations for micro-batches of up to maxB × maxT tokens.
 * @param r LoRA rank (0 when no LoRA); targets = modules that get a saved u buffer.
 * @throws DeviceLimitError (from createStorage) when a buffer exceeds the device's limits; the message names it.
 */
export function createActivations(ctx: GpuContext, cfg: ModelConfig, maxB: number, maxT: number, r: number, targets: readonly TargetModule[], withBackward = true): Activations {
  const M = maxB * maxT;
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: KV, headDim: D, vocabSize: V } = cfg;
  const owned: GPUBuffer[] = [];
  let bytes = 0;
  const f32 = (n: number, label: string) => {
    const b = createStorage(ctx, n * 4, label);
    owned.push(b);
    bytes += b.size;
    return b;
  };
  const layers: LayerActivations[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `act.l${l}`;
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
    ids: f32(M, 'act.input_ids'),
    targets: f32(M, 'act.targets'),
    resid,
    layers,
    rstdF: f32(M, 'act.rstd_final'),
    hF: f32(M * C, 'act.h_final'),
    logits: f32(M * V, 'act.logits'),
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
    bytes,
    destroy: () => owned.forEach((b) => b.destroy()),
  };
}
