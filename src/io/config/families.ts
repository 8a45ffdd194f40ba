/**
 * One normaliser per supported model_type, kept in a table (transformers.js style), each mirroring its HF config
 * class defaults and modeling file:
 * - llama  (configuration_llama.py / modeling_llama.py): attention_bias → q,k,v AND o_proj bias; mlp_bias;
 *   head_dim from config else C/H; KV defaults to H; rope_scaling "llama3".
 * - mistral (configuration_mistral.py / modeling_mistral.py): Llama layout without biases; sliding_window kept
 *   (class default 4096 when the member is absent, null = full attention); KV default 8.
 * - qwen2 (configuration_qwen2.py / modeling_qwen2.py): q/k/v biases always, o_proj never; the sliding window only
 *   applies when use_sliding_window is true; KV default 32.
 * - qwen3 (configuration_qwen3.py / modeling_qwen3.py): q_norm/k_norm, head_dim default 128 (not C/H),
 *   attention_bias on q,k,v,o; sliding window as qwen2; KV default 32.
 * All four: hidden_act "silu" (SwiGLU), tie_word_embeddings default false, rms_norm_eps default 1e-6,
 * rope_theta default 10000.
 */
import type { ModelConfig, SupportedModelType } from './types';
import type { ConfigFields } from './fields';
import { ConfigError } from './errors';
import { readRope } from './rope';

/** The config-class defaults that differ between families (values taken from the HF classes named above). */
interface FamilyDefaults {
  /** num_key_value_heads when absent: a number, or 'heads' = num_attention_heads (LlamaConfig) */
  readonly numKvHeads: number | 'heads';
  /** head_dim when absent: a number (Qwen3Config: 128), or 'derived' = hidden_size / num_attention_heads */
  readonly headDim: number | 'derived';
  readonly maxPositionEmbeddings: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
}

/** Members shared by all four families, before the family-specific bias/norm/window fields. */
type CoreConfig = Omit<ModelConfig, 'modelType' | 'qkvBias' | 'oProjBias' | 'mlpBias' | 'qkNorm' | 'slidingWindow'>;

/**
 * Reads the members every supported family has, validates sizes (H multiple of KV, C/H integral when head_dim is
 * derived, hidden_act silu). @throws ConfigError naming the file and the field
 */
function readCore(f: ConfigFields, d: FamilyDefaults): CoreConfig {
  const hiddenSize = f.positiveInt('hidden_size');
  const numHeads = f.positiveInt('num_attention_heads');
  const numKvHeads = f.positiveInt('num_key_value_heads', d.numKvHeads === 'heads' ? numHeads : d.numKvHeads);
  if (numHeads % numKvHeads !== 0) {
    throw new ConfigError(`${f.file}: field "num_attention_heads" (${numHeads}) must be a multiple of "num_key_value_heads" (${numKvHeads})`);
  }
  let headDim: number;
  if (f.has('head_dim') || d.headDim !== 'derived') {
    headDim = f.positiveInt('head_dim', d.headDim === 'derived' ? undefined : d.headDim);
  } else {
    if (hiddenSize % numHeads !== 0) {
      throw new ConfigError(`${f.file}: field "head_dim" is missing and hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numHeads})`);
    }
    headDim = hiddenSize / numHeads;
  }
  const act = f.string('hidden_act', 'silu');
  if (act !== 'silu') throw new ConfigError(`${f.file}: field "hidden_act" is "${act}"; only "silu" (SwiGLU MLP) is supported`);
  return {
    vocabSize: f.positiveInt('vocab_size'),
    hiddenSize,
    intermediateSize: f.positiveInt('intermediate_size'),
    numLayers: f.positiveInt('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: f.positiveNumber('rms_norm_eps', 1e-6),
    ...readRope(f, 10000),
    maxPositionEmbeddings: f.positiveInt('max_position_embeddings', d.maxPositionEmbeddings),
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    bosTokenId: f.tokenId('bos_token_id', d.bosTokenId),
    eosTokenIds: f.tokenIds('eos_token_id', d.eosTokenIds),
    // transformers 5 writes "dtype", 4.x "torch_dtype"
    torchDtype: f.string('torch_dtype', null) ?? f.string('dtype', null),
  };
}

/** Optional positive window or null; `def` when the member is absent. */
function readWindow(f: ConfigFields, def: number | null): number | null {
  if (f.raw['sliding_window'] === undefined) return def;
  return f.has('sliding_window') ? f.positiveInt('sliding_window') : null;
}

/** Qwen2/Qwen3: the window exists only when use_sliding_window is true (HF: sliding_window if use_sliding_window else None). */
function readQwenWindow(f: ConfigFields): number | null {
  return f.bool('use_sliding_window', false) ? readWindow(f, 4096) : null;
}

/** Turns one validated raw config into a ModelConfig. @throws ConfigError */
export type Normalizer = (f: ConfigFields) => ModelConfig;

/** The normaliser of each supported model_type. */
export const NORMALIZERS: Readonly<Record<SupportedModelType, Normalizer>> = {
  llama(f) {
    const core = readCore(f, { numKvHeads: 'heads', headDim: 'derived', maxPositionEmbeddings: 2048, bosTokenId: 1, eosTokenIds: [2] });
    const attentionBias = f.bool('attention_bias', false);
    return { modelType: 'llama', ...core, qkvBias: attentionBias, oProjBias: attentionBias, mlpBias: f.bool('mlp_bias', false), qkNorm: false, slidingWindow: null };
  },
  mistral(f) {
    const core = readCore(f, { numKvHeads: 8, headDim: 'derived', maxPositionEmbeddings: 4096 * 32, bosTokenId: 1, eosTokenIds: [2] });
    return { modelType: 'mistral', ...core, qkvBias: false, oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: readWindow(f, 4096) };
  },
  qwen2(f) {
    const core = readCore(f, { numKvHeads: 32, headDim: 'derived', maxPositionEmbeddings: 32768, bosTokenId: null, eosTokenIds: [] });
    return { modelType: 'qwen2', ...core, qkvBias: true, oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: readQwenWindow(f) };
  },
  qwen3(f) {
    const core = readCore(f, { numKvHeads: 32, headDim: 128, maxPositionEmbeddings: 32768, bosTokenId: null, eosTokenIds: [] });
    const attentionBias = f.bool('attention_bias', false);
    return { modelType: 'qwen3', ...core, qkvBias: attentionBias, oProjBias: attentionBias, mlpBias: false, qkNorm: true, slidingWindow: readQwenWindow(f) };
  },
};
