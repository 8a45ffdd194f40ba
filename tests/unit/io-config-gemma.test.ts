import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, normalizeConfig } from '../../src/io/config';
import { layerRope, ropeInvFreq } from '../../src/engine/model/rope';
import { GEMMA3_270M } from '../support/gemmaConfigs';

const SHARED = '/work/shared';
const load = (p: string): Record<string, unknown> => JSON.parse(readFileSync(`${SHARED}/${p}`, 'utf8')) as Record<string, unknown>;

const G270M: Record<string, unknown> = { ...GEMMA3_270M };

describe('normalizeConfig: gemma3_text (configuration_gemma3.py Gemma3TextConfig)', () => {
  it('reads the gemma3-tiny fixture config (written by transformers 5.18)', () => {
    const c = normalizeConfig(load('fixtures/gemma3-tiny/config.json'), 'gemma3-tiny/config.json');
    expect(c).toEqual({
      modelType: 'gemma3_text', vocabSize: 256, hiddenSize: 64, intermediateSize: 128, numLayers: 3, numHeads: 4, numKvHeads: 2, headDim: 32,
      rmsNormEps: 1e-6, ropeTheta: 1e6, ropeScaling: null, ropeLocalTheta: 10000, maxPositionEmbeddings: 128, tieWordEmbeddings: true,
      qkvBias: false, oProjBias: false, mlpBias: false, qkNorm: true, slidingWindow: 8,
      layerTypes: ['sliding_attention', 'sliding_attention', 'full_attention'],
      rmsNormOffset: 1, sandwichNorms: true, hiddenAct: 'gelu_tanh', embedScale: Math.fround(8), attnScale: 24 ** -0.5,
      attnLogitSoftcap: null, finalLogitSoftcap: null, bosTokenId: 2, eosTokenIds: [1, 106], torchDtype: 'float32',
    });
  });

  it('Gemma 3 270M: MQA at head_dim 256, full attention on layers 5, 11, 17, √640 embedding scale, 256^-0.5 scores', () => {
    const c = normalizeConfig(G270M, 'gemma-3-270m/config.json');
    expect(c.layerTypes.flatMap((t, i) => (t === 'full_attention' ? [i] : []))).toEqual([5, 11, 17]);
    expect(c).toMatchObject({ numKvHeads: 1, headDim: 256, slidingWindow: 512, embedScale: Math.fround(Math.sqrt(640)), attnScale: 1 / 16, tieWordEmbeddings: true });
  });

  it('older configs: layer_types derived from sliding_window_pattern (default 6), as Gemma3TextConfig does', () => {
    const { layer_types: _drop, ...old } = G270M;
    expect(normalizeConfig(old, 'g').layerTypes).toEqual(normalizeConfig(G270M, 'g').layerTypes);
    const p3 = normalizeConfig({ ...old, num_hidden_layers: 6, sliding_window_pattern: 3 }, 'g').layerTypes;
    expect(p3).toEqual(['sliding_attention', 'sliding_attention', 'full_attention', 'sliding_attention', 'sliding_attention', 'full_attention']);
  });

  it('RoPE per layer type: linear scaling on full layers only (4B+ configs), also in transformers 5 rope_parameters form', () => {
    const v4 = normalizeConfig({ ...G270M, rope_scaling: { rope_type: 'linear', factor: 8.0 } }, 'g');
    const { rope_theta: _t, rope_local_base_freq: _l, rope_scaling: _s, ...rest } = G270M;
    const v5 = normalizeConfig({
      ...rest,
      rope_parameters: { full_attention: { rope_type: 'linear', factor: 8.0, rope_theta: 1e6 }, sliding_attention: { rope_type: 'default', rope_theta: 1e4 } },
    }, 'g');
    for (const c of [v4, v5]) {
      expect([c.ropeTheta, c.ropeScaling, c.ropeLocalTheta]).toEqual([1e6, { ropeType: 'linear', factor: 8 }, 1e4]);
      const full = ropeInvFreq(layerRope(c, 'full_attention'));
      const plain = ropeInvFreq({ headDim: 256, ropeTheta: 1e6, ropeScaling: null });
      expect(Array.from(full)).toEqual(Array.from(plain, (v) => Math.fround(v / 8)));
      expect(Array.from(ropeInvFreq(layerRope(c, 'sliding_attention')))).toEqual(Array.from(ropeInvFreq({ headDim: 256, ropeTheta: 1e4, ropeScaling: null })));
    }
  });

  it('keeps soft-capping when set (never ignored) and refuses an activation it does not implement', () => {
    expect(normalizeConfig({ ...G270M, final_logit_softcapping: 30.0, attn_logit_softcapping: 50.0 }, 'g')).toMatchObject({ finalLogitSoftcap: 30, attnLogitSoftcap: 50 });
    expect(() => normalizeConfig({ ...G270M, hidden_activation: 'relu' }, 'g/config.json')).toThrow(
      'g/config.json: field "hidden_activation" is "relu"; only "silu" (SwiGLU) and "gelu_pytorch_tanh" (GeGLU) are supported',
    );
  });

  it('refuses a multimodal Gemma 3 (model_type gemma3) by name, naming the text tower sizes', () => {
    const mm = { model_type: 'gemma3', architectures: ['Gemma3ForConditionalGeneration'], text_config: { hidden_size: 2560, num_hidden_layers: 34, head_dim: 256 } };
    expect(() => normalizeConfig(mm, 'gemma-3-4b-it/config.json')).toThrow(ConfigError);
    expect(() => normalizeConfig(mm, 'gemma-3-4b-it/config.json')).toThrow(/multimodal Gemma 3 checkpoint \(Gemma3ForConditionalGeneration; text tower hidden_size 2560, 34 layers, head_dim 256\).*gemma3_text/);
  });
});
