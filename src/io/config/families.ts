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
 * - gemma3_text (configuration_gemma3.py Gemma3TextConfig / modeling_gemma3.py): (1 + w) RMSNorm, sandwich norms,
 *   q/k norms, embeddings × √C, GeGLU (hidden_activation gelu_pytorch_tanh), scores × query_pre_attn_scalar^−0.5,
 *   layer_types (or the older sliding_window_pattern, default 6: layer i slides unless (i + 1) % 6 == 0), RoPE base
 *   rope_local_base_freq on sliding layers and rope_theta (+ rope_scaling) on full ones, soft-capping when set; tied
 *   by default; head_dim default 256, KV default 4, vocab default 262208.
 * The Llama-like four: hidden_act "silu" (SwiGLU), tie_word_embeddings default false, rms_norm_eps default 1e-6,
 * rope_theta default 10000; w·x̂ RMSNorm, no embedding scale, scores × head_dim^−0.5, no soft-capping.
 */
import type { HiddenAct, LayerType, ModelConfig, SupportedModelType } from './types';
import type { ConfigFields } from './fields';
import { ConfigError } from './errors';
import { readLocalRopeTheta, readRope } from './rope';

/** The config-class defaults that differ between families (values taken from the HF classes named above). */
interface FamilyDefaults {
  /** num_key_value_heads when absent: a number, or 'heads' = num_attention_heads (LlamaConfig) */
  readonly numKvHeads: number | 'heads';
  /** head_dim when absent: a number (Qwen3Config: 128), or 'derived' = hidden_size / num_attention_heads */
  readonly headDim: number | 'derived';
  readonly maxPositionEmbeddings: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  /** rope_theta when absent */
  readonly ropeTheta: number;
  readonly tie: boolean;
}

/** Members shared by all families, before the family-specific fields. */
type CoreConfig = Pick<ModelConfig, 'vocabSize' | 'hiddenSize' | 'intermediateSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim' |
  'rmsNormEps' | 'ropeTheta' | 'ropeScaling' | 'maxPositionEmbeddings' | 'tieWordEmbeddings' | 'bosTokenId' | 'eosTokenIds' | 'torchDtype'>;

/** The Llama-like defaults of the architecture flags (plain RMSNorm, SwiGLU, D^−0.5, no caps, no local RoPE). */
function llamaFlags(headDim: number): Pick<ModelConfig, 'rmsNormOffset' | 'sandwichNorms' | 'hiddenAct' | 'embedScale' | 'attnScale' | 'attnLogitSoftcap' | 'finalLogitSoftcap' | 'ropeLocalTheta'> {
  return { rmsNormOffset: 0, sandwichNorms: false, hiddenAct: 'silu', embedScale: 1, attnScale: 1 / Math.sqrt(headDim), attnLogitSoftcap: null, finalLogitSoftcap: null, ropeLocalTheta: null };
}

/** Reads the MLP activation from `key`; only SiLU and the tanh GELU are implemented. @throws ConfigError */
function readAct(f: ConfigFields, key: string, def: string): HiddenAct {
  const act = f.string(key, def);
  if (act === 'silu') return 'silu';
  if (act === 'gelu_pytorch_tanh') return 'gelu_tanh';
  throw new ConfigError(`${f.file}: field "${key}" is "${act}"; only "silu" (SwiGLU) and "gelu_pytorch_tanh" (GeGLU) are supported`);
}

/**
 * layer_types when the config lists them (checked: length L, each "full_attention" or "sliding_attention"), else
 * `derive(i)`; a sliding layer needs a window.
 * @throws ConfigError naming the field
 */
function readLayerTypes(f: ConfigFields, L: number, window: number | null, derive: (i: number) => LayerType): LayerType[] {
  const raw = f.raw['layer_types'];
  let types: LayerType[];
  if (raw === undefined || raw === null) types = Array.from({ length: L }, (_, i) => derive(i));
  else {
    if (!Array.isArray(raw) || raw.length !== L || raw.some((t) => t !== 'full_attention' && t !== 'sliding_attention')) {
      throw f.error('layer_types', `a list of ${L} entries (num_hidden_layers), each "full_attention" or "sliding_attention"`);
    }
    types = raw as LayerType[];
  }
  if (window === null && types.includes('sliding_attention')) throw f.error('sliding_window', 'a positive integer when layer_types has "sliding_attention" layers');
  return types;
}

/** Qwen2/Qwen3 layer types: sliding from max_window_layers on, when a window is in use (configuration_qwen2.py). */
function qwenLayerTypes(f: ConfigFields, L: number, window: number | null): LayerType[] {
  const first = f.has('max_window_layers') ? f.positiveIntOrZero('max_window_layers') : 28;
  return readLayerTypes(f, L, window, (i) => (window !== null && i >= first ? 'sliding_attention' : 'full_attention'));
}

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
  return {
    vocabSize: f.positiveInt('vocab_size'),
    hiddenSize,
    intermediateSize: f.positiveInt('intermediate_size'),
    numLayers: f.positiveInt('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: f.positiveNumber('rms_norm_eps', 1e-6),
    ...readRope(f, d.ropeTheta),
    maxPositionEmbeddings: f.positiveInt('max_position_embeddings', d.maxPositionEmbeddings),
    tieWordEmbeddings: f.bool('tie_word_embeddings', d.tie),
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
    const core = readCore(f, { numKvHeads: 'heads', headDim: 'derived', maxPositionEmbeddings: 2048, bosTokenId: 1, eosTokenIds: [2], ropeTheta: 10000, tie: false });
    const attentionBias = f.bool('attention_bias', false);
    siluOnly(f);
    return { modelType: 'llama', ...core, ...llamaFlags(core.headDim), qkvBias: attentionBias, oProjBias: attentionBias, mlpBias: f.bool('mlp_bias', false), qkNorm: false, slidingWindow: null, layerTypes: readLayerTypes(f, core.numLayers, null, () => 'full_attention') };
  },
  mistral(f) {
    const core = readCore(f, { numKvHeads: 8, headDim: 'derived', maxPositionEmbeddings: 4096 * 32, bosTokenId: 1, eosTokenIds: [2], ropeTheta: 10000, tie: false });
    siluOnly(f);
    const window = readWindow(f, 4096);
    // MistralModel masks every layer with config.sliding_window (modeling_mistral.py create_sliding_window_causal_mask).
    const layerTypes = readLayerTypes(f, core.numLayers, window, () => (window === null ? 'full_attention' : 'sliding_attention'));
    return { modelType: 'mistral', ...core, ...llamaFlags(core.headDim), qkvBias: false, oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: window, layerTypes };
  },
  qwen2(f) {
    const core = readCore(f, { numKvHeads: 32, headDim: 'derived', maxPositionEmbeddings: 32768, bosTokenId: null, eosTokenIds: [], ropeTheta: 10000, tie: false });
    siluOnly(f);
    const window = readQwenWindow(f);
    return { modelType: 'qwen2', ...core, ...llamaFlags(core.headDim), qkvBias: true, oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: window, layerTypes: qwenLayerTypes(f, core.numLayers, window) };
  },
  qwen3(f) {
    const core = readCore(f, { numKvHeads: 32, headDim: 128, maxPositionEmbeddings: 32768, bosTokenId: null, eosTokenIds: [], ropeTheta: 10000, tie: false });
    siluOnly(f);
    const attentionBias = f.bool('attention_bias', false);
    const window = readQwenWindow(f);
    return { modelType: 'qwen3', ...core, ...llamaFlags(core.headDim), qkvBias: attentionBias, oProjBias: attentionBias, mlpBias: false, qkNorm: true, slidingWindow: window, layerTypes: qwenLayerTypes(f, core.numLayers, window) };
  },
  gemma3_text(f) {
    const core = readCore(f, { numKvHeads: 4, headDim: 256, maxPositionEmbeddings: 131072, bosTokenId: 2, eosTokenIds: [1], ropeTheta: 1_000_000, tie: true });
    // Gemma3TextConfig reads hidden_activation (hidden_act is Gemma 1's member; HF warns and uses gelu_pytorch_tanh).
    const hiddenAct = readAct(f, 'hidden_activation', 'gelu_pytorch_tanh');
    const window = readWindow(f, 4096);
    const pattern = f.positiveInt('sliding_window_pattern', 6);
    const layerTypes = readLayerTypes(f, core.numLayers, window, (i) => ((i + 1) % pattern !== 0 ? 'sliding_attention' : 'full_attention'));
    const attentionBias = f.bool('attention_bias', false);
    return {
      modelType: 'gemma3_text', ...core,
      qkvBias: attentionBias, oProjBias: attentionBias, mlpBias: false, qkNorm: true,
      slidingWindow: layerTypes.includes('sliding_attention') ? window : null, layerTypes,
      rmsNormOffset: 1, sandwichNorms: true, hiddenAct,
      // Gemma3TextScaledWordEmbedding: embed_scale = hidden_size ** 0.5, kept as an f32 value.
      embedScale: Math.fround(Math.sqrt(core.hiddenSize)),
      attnScale: f.positiveNumber('query_pre_attn_scalar', 256) ** -0.5,
      attnLogitSoftcap: f.has('attn_logit_softcapping') ? f.positiveNumber('attn_logit_softcapping') : null,
      finalLogitSoftcap: f.has('final_logit_softcapping') ? f.positiveNumber('final_logit_softcapping') : null,
      ropeLocalTheta: readLocalRopeTheta(f, 10000),
    };
  },
};

/** The Llama-like families have a SiLU MLP only. @throws ConfigError naming hidden_act when it is another. */
function siluOnly(f: ConfigFields): void {
  const act = f.string('hidden_act', 'silu');
  if (act !== 'silu') throw new ConfigError(`${f.file}: field "hidden_act" is "${act}"; only "silu" (SwiGLU MLP) is supported`);
}
