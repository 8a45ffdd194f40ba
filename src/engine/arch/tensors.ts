/**
 * The tensor table of a decoder (llm.c's TENSOR_SPEC habit): every tensor a config implies, once — HF name, shape,
 * what it is, how the engine keeps it on the GPU, whether LoRA can target it and whether AdamW decays it. The loader
 * (model/weights.ts), the drop-time shape check (model/expectedShapes.ts), the memory plan (plan/memory.ts) and the CPU
 * reference (reference/model.ts) all read this table, so adding a family is adding its rows here (and its layer ops
 * in ./layer.ts). Names follow HF modeling_llama / qwen2 / qwen3 / gemma3 (Gemma3ForCausalLM); linear weights are
 * [out, in] (nn.Linear).
 */
import type { ModelConfig } from '../../io/config/types';
import { TARGET_MODULES, type TargetModule } from '../model/loraTypes';

/** The norms a layer may have (HF module names); q_norm / k_norm are per head over D. */
export type NormName = 'input_layernorm' | 'post_attention_layernorm' | 'pre_feedforward_layernorm' | 'post_feedforward_layernorm' | 'q_norm' | 'k_norm';

/** What a tensor is. */
export type TensorRole = 'embed' | 'lm_head' | 'final_norm' | 'norm' | 'linear' | 'bias';

/** One row of the table. */
export interface TensorSpec {
  /** HF name, e.g. "model.layers.3.self_attn.q_proj.weight" */
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: TensorRole;
  /** layer index, or null for embed_tokens, model.norm, lm_head */
  readonly layer: number | null;
  /** the linear (role 'linear' | 'bias') */
  readonly module?: TargetModule;
  /** the norm (role 'norm') */
  readonly norm?: NormName;
  /**
   * On the GPU: 'file' = kept in the checkpoint's dtype (BF16/F16 packed two per u32, unpacked in the kernels);
   * 'f32' = upcast exactly on upload (small vectors: norms, biases).
   */
  readonly gpuDtype: 'file' | 'f32';
  /** a LoRA target (PEFT target_modules: the seven decoder linears' weights) */
  readonly loraTarget: boolean;
  /** excluded from weight decay under transformers Trainer's rule (names with "bias" or a norm: get_decay_parameter_names) */
  readonly noDecay: boolean;
}

/** [out, in] of each decoder linear for a config. */
export function linearShape(cfg: Pick<ModelConfig, 'hiddenSize' | 'intermediateSize' | 'numHeads' | 'numKvHeads' | 'headDim'>, m: TargetModule): [number, number] {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: KV, headDim: D } = cfg;
  switch (m) {
    case 'q_proj': return [H * D, C];
    case 'k_proj':
    case 'v_proj': return [KV * D, C];
    case 'o_proj': return [C, H * D];
    case 'gate_proj':
    case 'up_proj': return [I, C];
    case 'down_proj': return [C, I];
  }
}

/** Whether a decoder linear has a bias in checkpoints of `cfg` (qwen2: q/k/v; attention_bias / mlp_bias flags). */
export function linearHasBias(cfg: Pick<ModelConfig, 'qkvBias' | 'oProjBias' | 'mlpBias'>, m: TargetModule): boolean {
  return m === 'o_proj' ? cfg.oProjBias : m === 'q_proj' || m === 'k_proj' || m === 'v_proj' ? cfg.qkvBias : cfg.mlpBias;
}

/** HF module path of a decoder linear, e.g. "model.layers.3.self_attn.q_proj". */
export function modulePath(layer: number, m: TargetModule): string {
  const block = m === 'gate_proj' || m === 'up_proj' || m === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${m}`;
}

/** HF name of a layer norm's weight, e.g. "model.layers.0.self_attn.q_norm.weight". */
export function normName(layer: number, n: NormName): string {
  return n === 'q_norm' || n === 'k_norm' ? `model.layers.${layer}.self_attn.${n}.weight` : `model.layers.${layer}.${n}.weight`;
}

/** The norms of every layer of `cfg`, in table order. */
export function layerNorms(cfg: Pick<ModelConfig, 'qkNorm' | 'sandwichNorms'>): NormName[] {
  const out: NormName[] = ['input_layernorm', 'post_attention_layernorm'];
  if (cfg.sandwichNorms) out.push('pre_feedforward_layernorm', 'post_feedforward_layernorm');
  if (cfg.qkNorm) out.push('q_norm', 'k_norm');
  return out;
}

/** Width of a norm's weight: C, or D for q_norm / k_norm. */
export function normWidth(cfg: Pick<ModelConfig, 'hiddenSize' | 'headDim'>, n: NormName): number {
  return n === 'q_norm' || n === 'k_norm' ? cfg.headDim : cfg.hiddenSize;
}

/**
 * Every tensor `cfg` implies, in the order the engine loads them: embed_tokens, then per layer the seven linears
 * (weight, bias when present) and the norms, then model.norm and (untied only) lm_head. A tied lm_head is
 * embed_tokens itself (no row).
 */
export function tensorTable(cfg: ModelConfig): TensorSpec[] {
  const C = cfg.hiddenSize;
  const V = cfg.vocabSize;
  const out: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [V, C], role: 'embed', layer: null, gpuDtype: 'file', loraTarget: false, noDecay: false }];
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const m of TARGET_MODULES) {
      const [o, i] = linearShape(cfg, m);
      out.push({ name: `${modulePath(l, m)}.weight`, shape: [o, i], role: 'linear', layer: l, module: m, gpuDtype: 'file', loraTarget: true, noDecay: false });
      if (linearHasBias(cfg, m)) out.push({ name: `${modulePath(l, m)}.bias`, shape: [o], role: 'bias', layer: l, module: m, gpuDtype: 'f32', loraTarget: false, noDecay: true });
    }
    for (const n of layerNorms(cfg)) out.push({ name: normName(l, n), shape: [normWidth(cfg, n)], role: 'norm', layer: l, norm: n, gpuDtype: 'f32', loraTarget: false, noDecay: true });
  }
  out.push({ name: 'model.norm.weight', shape: [C], role: 'final_norm', layer: null, gpuDtype: 'f32', loraTarget: false, noDecay: true });
  if (!cfg.tieWordEmbeddings) out.push({ name: 'lm_head.weight', shape: [V, C], role: 'lm_head', layer: null, gpuDtype: 'file', loraTarget: false, noDecay: false });
  return out;
}
