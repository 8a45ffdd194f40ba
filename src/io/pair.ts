/**
 * Checks that a Base and an Instruct model can be paired for Shadow-FT (same architecture, same tensors with the same
 * shapes; Shadow-FT §3.1 grafts W_I' = W_I + ΔW_B, which needs identical shapes). Tolerated, with a warning: the
 * number of rows of the vocabulary tensors (embed_tokens, lm_head) when the vocab sizes differ, and a different head
 * layout (one tied, one separate: configs here carry the layout the files hold, io/head.ts) since LoRA never
 * touches lm_head and the merged model keeps the Instruct's own layout.
 */
import type { ModelConfig } from './config/types';
import type { Checkpoint } from './checkpoint';

/** Thrown at the first incompatibility found; the message names both models and the differing item. */
export class PairMismatchError extends Error {
  override name = 'PairMismatchError';
}

/** One side of the pair. */
export interface PairSide {
  readonly config: ModelConfig;
  readonly checkpoint: Checkpoint;
}

/** Config members that must match, in the order they are checked, with their config.json names. */
const MUST_MATCH: readonly (readonly [keyof ModelConfig, string])[] = [
  ['modelType', 'model_type'],
  ['hiddenSize', 'hidden_size'],
  ['intermediateSize', 'intermediate_size'],
  ['numLayers', 'num_hidden_layers'],
  ['numHeads', 'num_attention_heads'],
  ['numKvHeads', 'num_key_value_heads'],
  ['headDim', 'head_dim'],
  ['qkvBias', 'q/k/v bias (attention_bias)'],
  ['oProjBias', 'o_proj bias (attention_bias)'],
  ['mlpBias', 'mlp_bias'],
  ['qkNorm', 'q_norm/k_norm'],
  ['sandwichNorms', 'pre/post feed-forward norms'],
  ['hiddenAct', 'hidden_act / hidden_activation'],
];

/** Config members whose difference is reported as a warning. */
const SHOULD_MATCH: readonly (readonly [keyof ModelConfig, string])[] = [
  ['ropeTheta', 'rope_theta'],
  ['ropeScaling', 'rope_scaling'],
  ['rmsNormEps', 'rms_norm_eps'],
  ['slidingWindow', 'sliding_window'],
  ['layerTypes', 'layer_types'],
  ['ropeLocalTheta', 'rope_local_base_freq'],
  ['attnScale', 'query_pre_attn_scalar'],
  ['attnLogitSoftcap', 'attn_logit_softcapping'],
  ['finalLogitSoftcap', 'final_logit_softcapping'],
];

/** Tensors whose first dimension is the vocabulary size. */
const VOCAB_TENSORS = new Set(['model.embed_tokens.weight', 'lm_head.weight', 'lm_head.bias']);

const fmt = (v: unknown): string => JSON.stringify(v);
const shapeStr = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * Compares configs then tensors (Base's tensors in file order, then tensors only the Instruct has).
 * @returns warnings (vocab size / vocab-tensor row differences, rope or eps differences); empty when identical.
 * @throws PairMismatchError naming the first mismatch: a config member (both values), a tensor missing in one model,
 *   or a tensor shape differing (both shapes).
 */
export function checkPairCompatible(base: PairSide, instruct: PairSide): string[] {
  const b = `Base "${base.checkpoint.modelName}"`;
  const i = `Instruct "${instruct.checkpoint.modelName}"`;
  const warnings: string[] = [];
  for (const [key, label] of MUST_MATCH) {
    if (base.config[key] !== instruct.config[key]) {
      throw new PairMismatchError(`${label} differs: ${b} has ${fmt(base.config[key])}, ${i} has ${fmt(instruct.config[key])}; Shadow-FT needs two models of the same architecture`);
    }
  }
  if (base.config.vocabSize !== instruct.config.vocabSize) {
    warnings.push(`vocab_size differs (${b}: ${base.config.vocabSize}, ${i}: ${instruct.config.vocabSize}); token ids must stay below ${Math.min(base.config.vocabSize, instruct.config.vocabSize)}`);
  }
  for (const [key, label] of SHOULD_MATCH) {
    if (fmt(base.config[key]) !== fmt(instruct.config[key])) warnings.push(`${label} differs: ${b} has ${fmt(base.config[key])}, ${i} has ${fmt(instruct.config[key])}`);
  }
  // A tied head is not a tensor of its own (even when a bit-identical copy is in the file, io/head.ts): LoRA never
  // touches lm_head, the Base trains with its own head and the merged model keeps the Instruct's layout.
  const tiedB = base.config.tieWordEmbeddings;
  const tiedI = instruct.config.tieWordEmbeddings;
  if (tiedB !== tiedI) warnings.push(`lm_head differs in layout: ${b} ${tiedB ? 'ties it to embed_tokens' : 'has its own'}, ${i} ${tiedI ? 'ties it to embed_tokens' : 'has its own'}; σ leaves lm_head out and the merged model keeps the Instruct's layout`);
  const skip = (name: string): boolean => (tiedB || tiedI) && name === 'lm_head.weight';
  const bt = base.checkpoint.tensors;
  const it = instruct.checkpoint.tensors;
  for (const [name, loc] of bt) {
    if (skip(name)) continue;
    const other = it.get(name);
    if (!other) throw new PairMismatchError(`tensor ${name} is in ${b} but missing in ${i}`);
    const sb = loc.info.shape;
    const si = other.info.shape;
    if (shapeStr(sb) === shapeStr(si)) continue;
    const onlyRows = VOCAB_TENSORS.has(name) && sb.length === si.length && sb.slice(1).every((d, k) => d === si[k + 1]);
    if (!onlyRows) throw new PairMismatchError(`tensor ${name} has shape ${shapeStr(sb)} in ${b} but ${shapeStr(si)} in ${i}`);
    warnings.push(`${name} has ${sb[0]} rows in ${b} but ${si[0]} in ${i} (different vocab sizes); only the shared rows are comparable`);
  }
  for (const name of it.keys()) {
    if (!bt.has(name) && !skip(name)) throw new PairMismatchError(`tensor ${name} is in ${i} but missing in ${b}`);
  }
  return warnings;
}
