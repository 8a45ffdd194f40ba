/**
 * One decoder layer as a sequence of ops (tinygrad's one Transformer for every runner; llm.c's forward that saves what
 * the backward reads). Every runner interprets this list: training forward and backward (model/decoder.ts), prefill
 * and KV-cache decode (generate/forward.ts) and the CPU f64 reference (reference/model.ts). The ops name values; each
 * runner maps a value to its buffer. Shapes per token (M = B·T rows): C, H·D, KV·D, I (see {@link valueWidth}).
 *
 * Llama / Mistral / Qwen2 / Qwen3 (HF modeling_llama.py LlamaDecoderLayer):
 *   h1 = norm(x); q,k,v = h1 W{q,k,v}ᵀ (+b); [q_norm/k_norm per head]; RoPE(q, k); attn = Attention(q, k, v)
 *   xMid = x + attn W_oᵀ; h2 = norm(xMid); xOut = xMid + (act(h2 W_gᵀ) ⊙ h2 W_uᵀ) W_dᵀ
 * Gemma 3 (modeling_gemma3.py Gemma3DecoderLayer, "sandwich" norms):
 *   xMid = x + post_attention_layernorm(attn W_oᵀ); h2 = pre_feedforward_layernorm(xMid);
 *   xOut = xMid + post_feedforward_layernorm((gelu_tanh(h2 W_gᵀ) ⊙ h2 W_uᵀ) W_dᵀ)
 * Backward rule of each op (reverse order): norm → d x (+)= RMSNorm′ᵀ d out; linear → d x (+)= d out · W (+ LoRA
 * grads); rope → inverse rotation of d x in place; attention → d q, d k, d v; glu → d gate, d up; copy / add into the
 * residual stream → nothing (the residual gradient is shared: d x = d xMid = d xOut, accumulated in place).
 */
import type { ModelConfig } from '../../io/config/types';
import type { TargetModule } from '../model/loraTypes';
import type { NormName } from './tensors';

/** The values of a layer. Residual: x (entering), xMid, xOut (leaving) and the normed branches added to them. */
export type Value =
  | 'x' | 'xMid' | 'xOut' | 'oNorm' | 'mNorm'
  | 'h1' | 'h2' | 'qPre' | 'kPre' | 'q' | 'k' | 'v' | 'attn' | 'lse' | 'oOut' | 'mOut' | 'gate' | 'up' | 'act'
  | 'rstd1' | 'rstd2' | 'rstdQ' | 'rstdK' | 'rstdO' | 'rstdM';

/** One op of a layer. */
export type LayerOp =
  /** out = RMSNorm(x; weight) (offset by cfg.rmsNormOffset), rstd saved; rows = tokens, or tokens·heads for q/k norms */
  | { readonly op: 'norm'; readonly norm: NormName; readonly x: Value; readonly out: Value; readonly rstd: Value; readonly heads: 'none' | 'q' | 'kv' }
  /** out (=|+=) x Wᵀ + b (+ LoRA); accumulate = add into the residual stream */
  | { readonly op: 'linear'; readonly module: TargetModule; readonly x: Value; readonly out: Value; readonly accumulate: boolean }
  /** RoPE in place on q (H heads) or k (KV heads), with the table of this layer's type */
  | { readonly op: 'rope'; readonly x: 'q' | 'k' }
  /** attn, lse = Attention(q, k, v) with this layer's window, scale and soft-cap ({@link layerAttention}) */
  | { readonly op: 'attention' }
  /** act = act_fn(gate) ⊙ up (cfg.hiddenAct) */
  | { readonly op: 'glu' }
  /** to = from (residual stream; a runner whose two values share one buffer skips it) */
  | { readonly op: 'copy'; readonly from: Value; readonly to: Value }
  /** into += x (residual stream) */
  | { readonly op: 'add'; readonly x: Value; readonly into: Value };

/** How a value lives: the residual stream, saved for the backward, or forward-only scratch. */
export type ValueKind = 'residual' | 'saved' | 'scratch';

/** Kind of each value (residual values share one gradient; scratch values are not read by the backward). */
export const VALUE_KIND: Readonly<Record<Value, ValueKind>> = {
  x: 'residual', xMid: 'saved', xOut: 'residual', oNorm: 'scratch', mNorm: 'scratch',
  h1: 'saved', h2: 'saved', qPre: 'saved', kPre: 'saved', q: 'saved', k: 'saved', v: 'saved', attn: 'saved', lse: 'saved',
  oOut: 'saved', mOut: 'saved', gate: 'saved', up: 'saved', act: 'saved',
  rstd1: 'saved', rstd2: 'saved', rstdQ: 'saved', rstdK: 'saved', rstdO: 'saved', rstdM: 'saved',
};

/** Values per token of each value (lse is [B, H, T]: H per token). */
export function valueWidth(cfg: Pick<ModelConfig, 'hiddenSize' | 'intermediateSize' | 'numHeads' | 'numKvHeads' | 'headDim'>, v: Value): number {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: KV, headDim: D } = cfg;
  switch (v) {
    case 'qPre': case 'q': case 'attn': return H * D;
    case 'kPre': case 'k': case 'v': return KV * D;
    case 'gate': case 'up': case 'act': return I;
    case 'lse': case 'rstdQ': return H;
    case 'rstdK': return KV;
    case 'rstd1': case 'rstd2': case 'rstdO': case 'rstdM': return 1;
    default: return C;
  }
}

/**
 * The gradient each value's backward writes or reads, by scratch buffer: the residual stream (and the normed
 * branches added to it) share dX; norm inputs/outputs of width C share dH (never live at once: see the header).
 */
export type GradName = 'dX' | 'dH' | 'dAttn' | 'dq' | 'dk' | 'dv' | 'dqPre' | 'dkPre' | 'dGate' | 'dUp' | 'dAct';

/** The gradient buffer of a value (null: no gradient flows to it: rstd, lse). */
export function gradOf(v: Value): GradName | null {
  switch (v) {
    case 'x': case 'xMid': case 'xOut': case 'oNorm': case 'mNorm': return 'dX';
    case 'h1': case 'h2': case 'oOut': case 'mOut': return 'dH';
    case 'attn': return 'dAttn';
    case 'q': return 'dq';
    case 'k': return 'dk';
    case 'v': return 'dv';
    case 'qPre': return 'dqPre';
    case 'kPre': return 'dkPre';
    case 'gate': return 'dGate';
    case 'up': return 'dUp';
    case 'act': return 'dAct';
    default: return null;
  }
}

/** The ops of a layer of `cfg` (the same for every layer index: per-layer differences are in {@link layerAttention}). */
export function layerOps(cfg: Pick<ModelConfig, 'qkNorm' | 'sandwichNorms'>): LayerOp[] {
  const ops: LayerOp[] = [{ op: 'norm', norm: 'input_layernorm', x: 'x', out: 'h1', rstd: 'rstd1', heads: 'none' }];
  const qk = cfg.qkNorm;
  ops.push(
    { op: 'linear', module: 'q_proj', x: 'h1', out: qk ? 'qPre' : 'q', accumulate: false },
    { op: 'linear', module: 'k_proj', x: 'h1', out: qk ? 'kPre' : 'k', accumulate: false },
    { op: 'linear', module: 'v_proj', x: 'h1', out: 'v', accumulate: false },
  );
  if (qk) {
    ops.push(
      { op: 'norm', norm: 'q_norm', x: 'qPre', out: 'q', rstd: 'rstdQ', heads: 'q' },
      { op: 'norm', norm: 'k_norm', x: 'kPre', out: 'k', rstd: 'rstdK', heads: 'kv' },
    );
  }
  ops.push({ op: 'rope', x: 'q' }, { op: 'rope', x: 'k' }, { op: 'attention' }, { op: 'copy', from: 'x', to: 'xMid' });
  if (cfg.sandwichNorms) {
    ops.push(
      { op: 'linear', module: 'o_proj', x: 'attn', out: 'oOut', accumulate: false },
      { op: 'norm', norm: 'post_attention_layernorm', x: 'oOut', out: 'oNorm', rstd: 'rstdO', heads: 'none' },
      { op: 'add', x: 'oNorm', into: 'xMid' },
      { op: 'norm', norm: 'pre_feedforward_layernorm', x: 'xMid', out: 'h2', rstd: 'rstd2', heads: 'none' },
    );
  } else {
    ops.push(
      { op: 'linear', module: 'o_proj', x: 'attn', out: 'xMid', accumulate: true },
      { op: 'norm', norm: 'post_attention_layernorm', x: 'xMid', out: 'h2', rstd: 'rstd2', heads: 'none' },
    );
  }
  ops.push(
    { op: 'linear', module: 'gate_proj', x: 'h2', out: 'gate', accumulate: false },
    { op: 'linear', module: 'up_proj', x: 'h2', out: 'up', accumulate: false },
    { op: 'glu' },
    { op: 'copy', from: 'xMid', to: 'xOut' },
  );
  if (cfg.sandwichNorms) {
    ops.push(
      { op: 'linear', module: 'down_proj', x: 'act', out: 'mOut', accumulate: false },
      { op: 'norm', norm: 'post_feedforward_layernorm', x: 'mOut', out: 'mNorm', rstd: 'rstdM', heads: 'none' },
      { op: 'add', x: 'mNorm', into: 'xOut' },
    );
  } else {
    ops.push({ op: 'linear', module: 'down_proj', x: 'act', out: 'xOut', accumulate: true });
  }
  return ops;
}

/** The values the ops of `cfg` write (in first-write order), without the residual x / xOut. */
export function layerValues(cfg: Pick<ModelConfig, 'qkNorm' | 'sandwichNorms'>): Value[] {
  const seen = new Set<Value>();
  for (const o of layerOps(cfg)) {
    const outs: Value[] = o.op === 'norm' ? [o.out, o.rstd] : o.op === 'linear' ? [o.out] : o.op === 'attention' ? ['attn', 'lse'] : o.op === 'glu' ? ['act'] : o.op === 'copy' ? [o.to] : [];
    for (const v of outs) if (v !== 'x' && v !== 'xOut') seen.add(v);
  }
  return [...seen];
}

/** Attention settings of layer l: window W (0 = full causal; else query i sees keys i−W+1 … i), scale and soft-cap. */
export interface LayerAttention {
  readonly window: number;
  readonly scale: number;
  /** 0 = none */
  readonly softcap: number;
}

/** The attention of layer `l` (HF: sliding layers use config.sliding_window; scaling and attn_logit_softcapping). */
export function layerAttention(cfg: Pick<ModelConfig, 'layerTypes' | 'slidingWindow' | 'attnScale' | 'attnLogitSoftcap'>, l: number): LayerAttention {
  const sliding = cfg.layerTypes[l] === 'sliding_attention' && cfg.slidingWindow !== null;
  return { window: sliding ? (cfg.slidingWindow as number) : 0, scale: cfg.attnScale, softcap: cfg.attnLogitSoftcap ?? 0 };
}
