/**
 * Real Gemma 3 config members for tests and benches. google/gemma-3-270m has no verbatim config.json in shared/;
 * these are the members ../shared/configs/google__gemma-3-270m/SOURCE.md lists as agreeing across its copies
 * (transformers 4.55 form, with layer_types), plus the Gemma3TextConfig defaults for bos/eos/tie.
 */

/** google/gemma-3-270m: hidden 640, 18 layers (full attention at 5, 11, 17), 4 heads, 1 KV head, head_dim 256, vocab 262144. */
export const GEMMA3_270M: Readonly<Record<string, unknown>> = {
  architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 640, intermediate_size: 2048, num_hidden_layers: 18,
  num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256, vocab_size: 262144, max_position_embeddings: 32768, sliding_window: 512,
  layer_types: Array.from({ length: 18 }, (_, i) => ((i + 1) % 6 === 0 ? 'full_attention' : 'sliding_attention')),
  query_pre_attn_scalar: 256, rms_norm_eps: 1e-6, rope_theta: 1000000.0, rope_local_base_freq: 10000.0, hidden_activation: 'gelu_pytorch_tanh',
  pad_token_id: 0, bos_token_id: 2, eos_token_id: [1, 106], tie_word_embeddings: true, torch_dtype: 'bfloat16',
  attn_logit_softcapping: null, final_logit_softcapping: null, rope_scaling: null,
};

/** google/gemma-3-1b-pt's sizes (issue 16: hidden 1152, 26 layers, same heads, MLP 6912) on the 270M members. */
export const GEMMA3_1B: Readonly<Record<string, unknown>> = {
  ...GEMMA3_270M, hidden_size: 1152, intermediate_size: 6912, num_hidden_layers: 26,
  layer_types: Array.from({ length: 26 }, (_, i) => ((i + 1) % 6 === 0 ? 'full_attention' : 'sliding_attention')),
};

/** The 270M config cut to `layers` layers (the first `layers` layer types). */
export function gemma3Layers(layers: number, base: Readonly<Record<string, unknown>> = GEMMA3_270M): Record<string, unknown> {
  return { ...base, num_hidden_layers: layers, layer_types: (base['layer_types'] as string[]).slice(0, layers) };
}
