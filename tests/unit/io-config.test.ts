import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, normalizeConfig, readModelConfig, UnsupportedModelError } from '../../src/io/config';
import type { ModelConfig } from '../../src/io/config/types';

const SHARED = '/work/shared';
const load = (p: string): Record<string, unknown> => JSON.parse(readFileSync(`${SHARED}/${p}`, 'utf8')) as Record<string, unknown>;

/** The Llama-like architecture flags of an L-layer model with head dim D (no window, plain RMSNorm, SwiGLU). */
const flags = (L: number, D: number) => ({
  ropeLocalTheta: null, layerTypes: Array<'full_attention'>(L).fill('full_attention'), rmsNormOffset: 0 as const, sandwichNorms: false,
  hiddenAct: 'silu' as const, embedScale: 1, attnScale: D ** -0.5, attnLogitSoftcap: null, finalLogitSoftcap: null,
});

/** Expected values written by hand from each config.json and the HF config class/modeling semantics. */
const SMOL135: Omit<ModelConfig, 'bosTokenId' | 'eosTokenIds'> = {
  modelType: 'llama', vocabSize: 49152, hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3,
  headDim: 64, rmsNormEps: 1e-5, ropeTheta: 100000, ropeScaling: null, maxPositionEmbeddings: 8192, tieWordEmbeddings: true,
  qkvBias: false, oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: null, torchDtype: 'bfloat16', ...flags(30, 64),
};
const TINY = { vocabSize: 256, hiddenSize: 64, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 2, maxPositionEmbeddings: 128, ropeScaling: null, bosTokenId: 1, eosTokenIds: [2] };
const STORIES: ModelConfig = {
  modelType: 'llama', vocabSize: 512, hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8,
  rmsNormEps: 1e-5, ropeTheta: 10000, ropeScaling: null, maxPositionEmbeddings: 512, tieWordEmbeddings: true, qkvBias: false,
  oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: null, bosTokenId: 1, eosTokenIds: [2], torchDtype: 'bfloat16', ...flags(5, 8),
};

const CASES: [string, ModelConfig][] = [
  ['configs/HuggingFaceTB__SmolLM2-135M/config.json', { ...SMOL135, bosTokenId: 0, eosTokenIds: [0] }],
  ['configs/HuggingFaceTB__SmolLM2-135M-Instruct/config.json', { ...SMOL135, bosTokenId: 1, eosTokenIds: [2] }],
  ['configs/HuggingFaceTB__SmolLM2-360M-Instruct/config.json', { ...SMOL135, hiddenSize: 960, intermediateSize: 2560, numLayers: 32, numHeads: 15, numKvHeads: 5, bosTokenId: 1, eosTokenIds: [2], ...flags(32, 64) }],
  ['configs/Qwen__Qwen3-0.6B/config.json', {
    modelType: 'qwen3', vocabSize: 151936, hiddenSize: 1024, intermediateSize: 3072, numLayers: 28, numHeads: 16, numKvHeads: 8, headDim: 128,
    rmsNormEps: 1e-6, ropeTheta: 1000000, ropeScaling: null, maxPositionEmbeddings: 40960, tieWordEmbeddings: true, qkvBias: false,
    oProjBias: false, mlpBias: false, qkNorm: true, slidingWindow: null, bosTokenId: 151643, eosTokenIds: [151645], torchDtype: 'bfloat16', ...flags(28, 128),
  }],
  ['configs/meta-llama__Llama-3.2-1B-Instruct/config.json', {
    modelType: 'llama', vocabSize: 128256, hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32, numKvHeads: 8, headDim: 64,
    rmsNormEps: 1e-5, ropeTheta: 500000,
    ropeScaling: { ropeType: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
    maxPositionEmbeddings: 131072, tieWordEmbeddings: true, qkvBias: false, oProjBias: false, mlpBias: false, qkNorm: false,
    slidingWindow: null, bosTokenId: 128000, eosTokenIds: [128001, 128008, 128009], torchDtype: 'bfloat16', ...flags(16, 64),
  }],
  ['fixtures/llama-tiny/config.json', { ...TINY, modelType: 'llama', headDim: 16, rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: true, qkvBias: false, oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: null, torchDtype: 'float32', ...flags(2, 16) }],
  ['fixtures/llama-tiny/model-instruct/config.json', { ...TINY, modelType: 'llama', headDim: 16, rmsNormEps: 1e-5, ropeTheta: 10000, tieWordEmbeddings: true, qkvBias: false, oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: null, torchDtype: 'float32', ...flags(2, 16) }],
  ['fixtures/qwen2-tiny/config.json', { ...TINY, modelType: 'qwen2', headDim: 16, rmsNormEps: 1e-6, ropeTheta: 1e6, tieWordEmbeddings: false, qkvBias: true, oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: null, torchDtype: 'bfloat16', ...flags(2, 16) }],
  ['fixtures/qwen2-tiny/model-instruct/config.json', { ...TINY, modelType: 'qwen2', headDim: 16, rmsNormEps: 1e-6, ropeTheta: 1e6, tieWordEmbeddings: false, qkvBias: true, oProjBias: false, mlpBias: false, qkNorm: false, slidingWindow: null, torchDtype: 'bfloat16', ...flags(2, 16) }],
  ['fixtures/qwen3-tiny/config.json', { ...TINY, modelType: 'qwen3', headDim: 32, rmsNormEps: 1e-6, ropeTheta: 1e6, tieWordEmbeddings: true, qkvBias: false, oProjBias: false, mlpBias: false, qkNorm: true, slidingWindow: null, torchDtype: 'float32', ...flags(2, 32) }],
  ['fixtures/qwen3-tiny/model-instruct/config.json', { ...TINY, modelType: 'qwen3', headDim: 32, rmsNormEps: 1e-6, ropeTheta: 1e6, tieWordEmbeddings: true, qkvBias: false, oProjBias: false, mlpBias: false, qkNorm: true, slidingWindow: null, torchDtype: 'float32', ...flags(2, 32) }],
  ['models/stories260K-base/config.json', STORIES],
  ['models/stories260K-instruct/config.json', STORIES],
];

describe('normalizeConfig on real configs', () => {
  it.each(CASES)('%s', (path, want) => {
    expect(normalizeConfig(load(path), path)).toEqual(want);
  });

  it('reads a config.json Blob and names the file when it is not JSON', async () => {
    const blob = new Blob([readFileSync(`${SHARED}/models/stories260K-base/config.json`)]);
    expect(await readModelConfig(blob, 'x/config.json')).toEqual(STORIES);
    await expect(readModelConfig(new Blob(['{"model_type": "llama",']), 'broken/config.json')).rejects.toThrow(/^broken\/config\.json: not valid JSON/);
  });
});

const base = (): Record<string, unknown> => load('models/stories260K-base/config.json');
const with_ = (patch: Record<string, unknown>, drop: string[] = []): Record<string, unknown> => {
  const raw = { ...base(), ...patch };
  for (const k of drop) delete raw[k];
  return raw;
};

describe('unsupported model types', () => {
  it.each([
    ['mixtral', with_({ model_type: 'mixtral', num_local_experts: 8 })],
    ['qwen2_moe', with_({ model_type: 'qwen2_moe', num_experts: 60 })],
  ])('%s → UnsupportedModelError naming it and the supported list', (type, raw) => {
    let err: unknown;
    try {
      normalizeConfig(raw, 'm/config.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedModelError);
    expect((err as UnsupportedModelError).modelType).toBe(type);
    expect((err as Error).message).toBe(`m/config.json: model_type "${type}" is not supported (supported: llama, mistral, qwen2, qwen3, gemma3_text)`);
  });
});

describe('invalid and missing fields name the file and the field', () => {
  it.each([
    [with_({}, ['hidden_size']), 'c/config.json: field "hidden_size" must be a positive integer, it is missing'],
    [with_({ num_attention_heads: '8' }), 'c/config.json: field "num_attention_heads" must be a positive integer, got "8"'],
    [with_({ vocab_size: 0 }), 'c/config.json: field "vocab_size" must be a positive integer, got 0'],
    [with_({ intermediate_size: 17.5 }), 'c/config.json: field "intermediate_size" must be a positive integer, got 17.5'],
    [with_({}, ['model_type']), 'c/config.json: field "model_type" must be a string such as "llama", it is missing'],
    [with_({ rms_norm_eps: -1 }), 'c/config.json: field "rms_norm_eps" must be a positive number, got -1'],
    [with_({ tie_word_embeddings: 'yes' }), 'c/config.json: field "tie_word_embeddings" must be true or false, got "yes"'],
    [with_({ eos_token_id: [2, 'x'] }), 'c/config.json: field "eos_token_id" must be a token id or a list of token ids, got [2,"x"]'],
    [with_({ num_key_value_heads: 3 }), 'c/config.json: field "num_attention_heads" (8) must be a multiple of "num_key_value_heads" (3)'],
    [with_({ num_attention_heads: 6, num_key_value_heads: 6 }, ['head_dim']), 'c/config.json: field "head_dim" is missing and hidden_size (64) is not a multiple of num_attention_heads (6)'],
    [with_({ hidden_act: 'gelu' }), 'c/config.json: field "hidden_act" is "gelu"; only "silu" (SwiGLU MLP) is supported'],
    [with_({ rope_scaling: { rope_type: 'yarn', factor: 4 } }), 'c/config.json: field "rope_scaling.rope_type" is "yarn"; only "default", "linear" and "llama3" RoPE are supported'],
    [with_({ rope_scaling: { type: 'dynamic', factor: 2 } }), 'c/config.json: field "rope_scaling.type" is "dynamic"; only "default", "linear" and "llama3" RoPE are supported'],
    [with_({ rope_scaling: { type: 'linear' } }), 'c/config.json: field "rope_scaling.factor" must be a positive number, it is missing'],
    [with_({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 } }), 'c/config.json: field "rope_scaling.original_max_position_embeddings" must be a positive integer, it is missing'],
    [with_({ rope_scaling: 'llama3' }), 'c/config.json: field "rope_scaling" must be an object or null, got "llama3"'],
    [with_({ model_type: 'mistral', sliding_window: -4 }), 'c/config.json: field "sliding_window" must be a positive integer, got -4'],
  ])('%#: %s', (raw, msg) => {
    expect(() => normalizeConfig(raw, 'c/config.json')).toThrow(new ConfigError(msg));
  });

  it('rejects non-objects', () => {
    expect(() => normalizeConfig([1], 'a/config.json')).toThrow('a/config.json: expected a JSON object');
    expect(() => normalizeConfig(null, 'a/config.json')).toThrow(ConfigError);
  });
});

describe('family semantics', () => {
  it('llama: attention_bias puts a bias on q, k, v AND o_proj; mlp_bias on the MLP', () => {
    const c = normalizeConfig(with_({ attention_bias: true, mlp_bias: true }), 'l');
    expect([c.qkvBias, c.oProjBias, c.mlpBias]).toEqual([true, true, true]);
  });

  it('llama: head_dim = hidden / heads when absent, KV defaults to heads, tie defaults to false', () => {
    const c = normalizeConfig(with_({}, ['head_dim', 'num_key_value_heads', 'tie_word_embeddings']), 'l');
    expect([c.headDim, c.numKvHeads, c.tieWordEmbeddings]).toEqual([8, 8, false]);
  });

  it('tie_word_embeddings both ways', () => {
    expect(normalizeConfig(with_({ tie_word_embeddings: true }), 'l').tieWordEmbeddings).toBe(true);
    expect(normalizeConfig(with_({ tie_word_embeddings: false }), 'l').tieWordEmbeddings).toBe(false);
    expect(normalizeConfig({ ...load('fixtures/qwen2-tiny/config.json'), tie_word_embeddings: true }, 'q').tieWordEmbeddings).toBe(true);
  });

  it('eos_token_id may be an int, a list, or null', () => {
    expect(normalizeConfig(with_({ eos_token_id: 7 }), 'l').eosTokenIds).toEqual([7]);
    expect(normalizeConfig(with_({ eos_token_id: [7, 9] }), 'l').eosTokenIds).toEqual([7, 9]);
    expect(normalizeConfig(with_({ eos_token_id: null, bos_token_id: null }), 'l')).toMatchObject({ eosTokenIds: [], bosTokenId: null });
  });

  it('legacy rope_scaling "type": "llama3" and transformers-5 rope_parameters are read', () => {
    const scaling = { factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    const want = { ropeType: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
    expect(normalizeConfig(with_({ rope_scaling: { type: 'llama3', ...scaling } }), 'l').ropeScaling).toEqual(want);
    const v5 = normalizeConfig(with_({ rope_parameters: { rope_type: 'llama3', rope_theta: 500000, ...scaling } }, ['rope_theta', 'rope_scaling']), 'l');
    expect([v5.ropeTheta, v5.ropeScaling]).toEqual([500000, want]);
    const plain = normalizeConfig(with_({ rope_parameters: { rope_type: 'default', rope_theta: 1e6 } }, ['rope_theta']), 'l');
    expect([plain.ropeTheta, plain.ropeScaling]).toEqual([1e6, null]);
  });

  it('qwen2: q/k/v biases always (attention_bias is ignored), o_proj never; window only with use_sliding_window', () => {
    const q = load('fixtures/qwen2-tiny/config.json');
    expect(normalizeConfig({ ...q, attention_bias: false }, 'q')).toMatchObject({ qkvBias: true, oProjBias: false, slidingWindow: null });
    expect(normalizeConfig({ ...q, use_sliding_window: true }, 'q').slidingWindow).toBe(128);
  });

  it('qwen3: q_norm/k_norm; head_dim defaults to 128 (Qwen3Config), not hidden / heads; attention_bias on q,k,v,o', () => {
    const q = load('fixtures/qwen3-tiny/config.json');
    delete q['head_dim'];
    expect(normalizeConfig(q, 'q')).toMatchObject({ qkNorm: true, headDim: 128 });
    expect(normalizeConfig({ ...q, attention_bias: true }, 'q')).toMatchObject({ qkvBias: true, oProjBias: true, mlpBias: false });
  });

  it('mistral: llama layout without biases; sliding_window kept (4096 when absent, null = full attention)', () => {
    const m = with_({ model_type: 'mistral', attention_bias: true, mlp_bias: true, sliding_window: 256 });
    expect(normalizeConfig(m, 'm')).toMatchObject({ modelType: 'mistral', qkvBias: false, oProjBias: false, mlpBias: false, slidingWindow: 256 });
    expect(normalizeConfig(with_({ model_type: 'mistral' }, ['sliding_window']), 'm').slidingWindow).toBe(4096);
    expect(normalizeConfig(with_({ model_type: 'mistral', sliding_window: null }), 'm').slidingWindow).toBeNull();
  });
});

describe('layer types (HF layer_types)', () => {
  it('mistral: every layer slides when a window is set; qwen2/qwen3: from max_window_layers on when use_sliding_window', () => {
    expect(normalizeConfig(with_({ model_type: 'mistral', sliding_window: 256 }), 'm').layerTypes).toEqual(Array(5).fill('sliding_attention'));
    expect(normalizeConfig(with_({ model_type: 'mistral', sliding_window: null }), 'm').layerTypes).toEqual(Array(5).fill('full_attention'));
    const q = normalizeConfig(with_({ model_type: 'qwen2', use_sliding_window: true, sliding_window: 64, max_window_layers: 3 }), 'q');
    expect([q.slidingWindow, q.layerTypes]).toEqual([64, ['full_attention', 'full_attention', 'full_attention', 'sliding_attention', 'sliding_attention']]);
    expect(normalizeConfig(with_({ model_type: 'qwen3', use_sliding_window: false, sliding_window: 64 }), 'q').layerTypes).toEqual(Array(5).fill('full_attention'));
  });
  it('reads an explicit layer_types list and refuses a wrong one by name', () => {
    const types = ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention', 'full_attention'];
    expect(normalizeConfig(with_({ model_type: 'mistral', sliding_window: 32, layer_types: types }), 'm').layerTypes).toEqual(types);
    expect(() => normalizeConfig(with_({ model_type: 'mistral', sliding_window: 32, layer_types: ['full_attention'] }), 'm/config.json')).toThrow(
      'm/config.json: field "layer_types" must be a list of 5 entries (num_hidden_layers), each "full_attention" or "sliding_attention", got ["full_attention"]',
    );
  });
});
