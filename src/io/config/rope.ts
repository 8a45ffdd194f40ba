/**
 * RoPE settings of a config.json: rope_theta and rope_scaling (transformers ≤ 4.x), or `rope_parameters`
 * (transformers 5: {rope_type, rope_theta, ...scaling members}, or for models with several layer types — Gemma 3 —
 * one such object per layer type: {"full_attention": {...}, "sliding_attention": {...}}). Rope types implemented:
 * "default" (no scaling), "linear" (HF modeling_rope_utils._compute_linear_scaling_rope_parameters: inv_freq / factor)
 * and "llama3" (_compute_llama3_parameters); others ("dynamic", "yarn", "longrope", ...) are refused by name because
 * the engine's RoPE tables do not implement them.
 */
import type { RopeScaling } from './types';
import type { ConfigFields } from './fields';
import { ConfigError } from './errors';

/** Parsed RoPE settings. theta is the base of inv_freq[d] = theta^(-2d/D). */
export interface RopeSettings {
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling | null;
}

/**
 * Reads one RoPE scaling object (rope_scaling, or one rope_parameters entry).
 * @throws ConfigError naming the file and member for an unsupported rope type or a missing/invalid member
 */
function readScaling(f: ConfigFields, scaling: ConfigFields): RopeScaling | null {
  // HF BC: a legacy "type" member is copied to "rope_type" (configuration_llama.py).
  const typeKey = scaling.has('rope_type') ? 'rope_type' : 'type';
  const ropeType = scaling.string(typeKey, 'default');
  if (ropeType === 'default') return null;
  if (ropeType === 'linear') return { ropeType: 'linear', factor: scaling.positiveNumber('factor') };
  if (ropeType !== 'llama3') {
    throw new ConfigError(`${f.file}: field "${scaling.prefix}${typeKey}" is "${ropeType}"; only "default", "linear" and "llama3" RoPE are supported`);
  }
  const s = {
    ropeType: 'llama3' as const,
    factor: scaling.positiveNumber('factor'),
    lowFreqFactor: scaling.positiveNumber('low_freq_factor'),
    highFreqFactor: scaling.positiveNumber('high_freq_factor'),
    originalMaxPositionEmbeddings: scaling.positiveInt('original_max_position_embeddings'),
  };
  if (s.highFreqFactor <= s.lowFreqFactor) {
    throw new ConfigError(`${f.file}: field "${scaling.prefix}high_freq_factor" (${s.highFreqFactor}) must be greater than low_freq_factor (${s.lowFreqFactor})`);
  }
  return s;
}

/** True when rope_parameters is keyed by layer type (transformers 5 form of Gemma 3 and other mixed-attention models). */
function perLayerType(params: ConfigFields | null): boolean {
  return !!params && (params.has('full_attention') || params.has('sliding_attention'));
}

/**
 * Reads rope_theta and rope_scaling / rope_parameters (of full-attention layers when rope_parameters is keyed by
 * layer type).
 * @param defaultTheta the config class default of rope_theta (10000 for LlamaConfig, MistralConfig, Qwen2Config,
 *   Qwen3Config; 1e6 for Gemma3TextConfig)
 * @throws ConfigError naming the file and member for an unsupported rope type or a missing/invalid member
 */
export function readRope(f: ConfigFields, defaultTheta: number): RopeSettings {
  let params = f.object('rope_parameters');
  if (perLayerType(params)) params = params!.object('full_attention');
  const scaling = params ?? f.object('rope_scaling');
  const ropeTheta = params?.has('rope_theta') ? params.positiveNumber('rope_theta') : f.positiveNumber('rope_theta', defaultTheta);
  return { ropeTheta, ropeScaling: scaling ? readScaling(f, scaling) : null };
}

/**
 * The RoPE base of sliding-attention layers (Gemma 3: `rope_local_base_freq`, or transformers 5's
 * rope_parameters.sliding_attention.rope_theta); sliding layers are never scaled (HF Gemma3 rotary_emb_local uses
 * rope_type "default").
 * @throws ConfigError when the sliding entry asks for a scaling (not what HF does for Gemma 3)
 */
export function readLocalRopeTheta(f: ConfigFields, defaultTheta: number): number {
  const params = f.object('rope_parameters');
  const local = perLayerType(params) ? params!.object('sliding_attention') : null;
  if (local) {
    if (readScaling(f, local) !== null) throw new ConfigError(`${f.file}: field "${local.prefix}rope_type" must be "default" for sliding-attention layers`);
    if (local.has('rope_theta')) return local.positiveNumber('rope_theta');
  }
  return f.positiveNumber('rope_local_base_freq', defaultTheta);
}
