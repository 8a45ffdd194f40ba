/**
 * The normalised model configuration every engine module reads (never raw config.json).
 * Produced by the per-model_type normalisers in src/io/config/ from a Hugging Face config.json.
 * Letters: V vocab, C hidden, I intermediate, L layers, H query heads, KV key/value heads, D head_dim.
 */

/** model_type values the engine supports. */
export type SupportedModelType = 'llama' | 'mistral' | 'qwen2' | 'qwen3';

/** Llama-3 RoPE frequency scaling (HF modeling_rope_utils._compute_llama3_parameters). */
export interface Llama3RopeScaling {
  readonly ropeType: 'llama3';
  readonly factor: number;
  readonly lowFreqFactor: number;
  readonly highFreqFactor: number;
  readonly originalMaxPositionEmbeddings: number;
}

/** A validated, normalised decoder config. */
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
  readonly ropeTheta: number;
  readonly ropeScaling: Llama3RopeScaling | null;
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
  /** mistral sliding window (null = full causal attention) */
  readonly slidingWindow: number | null;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  /** config.torch_dtype (informational; tensors carry their own dtype) */
  readonly torchDtype: string | null;
}
