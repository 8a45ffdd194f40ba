/**
 * The normalised model configuration every engine module reads (never raw config.json).
 * Produced by the per-model_type normalisers in src/io/config/ from a Hugging Face config.json.
 * Letters: V vocab, C hidden, I intermediate, L layers, H query heads, KV key/value heads, D head_dim.
 */

/** model_type values the engine supports. */
export type SupportedModelType = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'gemma3_text';

/** Attention of one layer (HF `config.layer_types`): causal over the whole prefix, or over the last `slidingWindow` keys. */
export type LayerType = 'full_attention' | 'sliding_attention';

/** The MLP gate activation (HF `hidden_act` / `hidden_activation`): SiLU (SwiGLU) or tanh-approximated GELU (GeGLU). */
export type HiddenAct = 'silu' | 'gelu_tanh';

/** Llama-3 RoPE frequency scaling (HF modeling_rope_utils._compute_llama3_parameters). */
export interface Llama3RopeScaling {
  readonly ropeType: 'llama3';
  readonly factor: number;
  readonly lowFreqFactor: number;
  readonly highFreqFactor: number;
  readonly originalMaxPositionEmbeddings: number;
}

/** Linear RoPE scaling (HF modeling_rope_utils._compute_linear_scaling_rope_parameters): inv_freq / factor. */
export interface LinearRopeScaling {
  readonly ropeType: 'linear';
  readonly factor: number;
}

/** A RoPE frequency scaling the engine implements. */
export type RopeScaling = Llama3RopeScaling | LinearRopeScaling;

/**
 * A validated, normalised decoder config. The four Llama-like families and Gemma 3 are one architecture with flags
 * (src/engine/arch/ reads them): biases, q/k norms, the norm style, sandwich norms, the gate activation, embedding and
 * attention scales, per-layer attention types and RoPE, and soft-capping.
 */
export interface ModelConfig {
  readonly modelType: SupportedModelType;
  /** V */
  readonly vocabSize: number;
  /** C */
  readonly hiddenSize: number;
  /** I (MLP width) */
  readonly intermediateSize: number;
  /** L */
  readonly numLayers: number;
  /** H */
  readonly numHeads: number;
  /** KV (GQA when < H; H must be a multiple of KV) */
  readonly numKvHeads: number;
  /** D: config.head_dim when present, else C / H */
  readonly headDim: number;
  readonly rmsNormEps: number;
  /** RoPE base of full-attention layers (and of every layer unless ropeLocalTheta is set) */
  readonly ropeTheta: number;
  /** RoPE scaling of full-attention layers (null = none) */
  readonly ropeScaling: RopeScaling | null;
  /** Gemma 3 `rope_local_base_freq`: RoPE base of sliding-attention layers, unscaled; null = as full layers */
  readonly ropeLocalTheta: number | null;
  readonly maxPositionEmbeddings: number;
  /** lm_head shares embed_tokens (no lm_head.weight in the file) */
  readonly tieWordEmbeddings: boolean;
  /** q/k/v projections carry a bias (qwen2: always; llama/qwen3: attention_bias) */
  readonly qkvBias: boolean;
  /** o_proj carries a bias (llama/qwen3: attention_bias; qwen2: never) */
  readonly oProjBias: boolean;
  /** gate/up/down carry a bias (llama: mlp_bias) */
  readonly mlpBias: boolean;
  /** per-head RMSNorm on q and k before RoPE (qwen3) */
  readonly qkNorm: boolean;
  /** window W of sliding-attention layers: query i sees keys i−W+1 … i (null when no layer slides) */
  readonly slidingWindow: number | null;
  /** attention type of each layer, length L (HF layer_types; all 'full_attention' without a window) */
  readonly layerTypes: readonly LayerType[];
  /** RMSNorm weight offset: 0 → w·x̂ (Llama), 1 → (1 + w)·x̂ (Gemma3RMSNorm), also for q/k norms */
  readonly rmsNormOffset: 0 | 1;
  /** Gemma 3 "sandwich" norms: post_attention_layernorm and post_feedforward_layernorm norm the branch output
   * before the residual add, pre_feedforward_layernorm feeds the MLP (else post_attention_layernorm feeds the MLP) */
  readonly sandwichNorms: boolean;
  /** MLP gate activation */
  readonly hiddenAct: HiddenAct;
  /** embeddings are multiplied by this f32 value (Gemma: √hidden_size; else 1) */
  readonly embedScale: number;
  /** attention score scale (head_dim^−0.5; Gemma: query_pre_attn_scalar^−0.5) */
  readonly attnScale: number;
  /** cap·tanh(score/cap) on attention scores (Gemma attn_logit_softcapping); null = none */
  readonly attnLogitSoftcap: number | null;
  /** cap·tanh(logit/cap) on the lm_head output (Gemma final_logit_softcapping); null = none */
  readonly finalLogitSoftcap: number | null;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  /** config.torch_dtype (informational; tensors carry their own dtype) */
  readonly torchDtype: string | null;
}
