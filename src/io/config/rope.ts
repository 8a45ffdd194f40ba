/**
 * RoPE settings of a config.json: rope_theta and rope_scaling (transformers ≤ 4.x), or `rope_parameters`
 * (transformers 5: {rope_type, rope_theta, ...scaling members}). Only "default" (no scaling) and "llama3"
 * (HF modeling_rope_utils._compute_llama3_parameters) are supported; other rope types ("linear", "dynamic",
 * "yarn", "longrope", ...) are refused because the engine's RoPE kernel does not implement them.
 */
import type { Llama3RopeScaling } from './types';
import type { ConfigFields } from './fields';
import { ConfigError } from './errors';

/** Parsed RoPE settings. theta is the base of inv_freq[d] = theta^(-2d/D). */
export interface RopeSettings {
  readonly ropeTheta: number;
  readonly ropeScaling: Llama3RopeScaling | null;
}

/**
 * Reads rope_theta and rope_scaling / rope_parameters.
 * @param defaultTheta the config class default of rope_theta (10000 for LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config)
 * @throws ConfigError naming the file and member for an unsupported rope type or a missing/invalid llama3 member
 */
export function readRope(f: ConfigFields, defaultTheta: number): RopeSettings {
  const params = f.object('rope_parameters');
  const scaling = params ?? f.object('rope_scaling');
  const ropeTheta = params?.has('rope_theta') ? params.positiveNumber('rope_theta') : f.positiveNumber('rope_theta', defaultTheta);
  if (!scaling) return { ropeTheta, ropeScaling: null };
  // HF BC: a legacy "type" member is copied to "rope_type" (configuration_llama.py).
  const typeKey = scaling.has('rope_type') ? 'rope_type' : 'type';
  const ropeType = scaling.string(typeKey, 'default');
  if (ropeType === 'default') return { ropeTheta, ropeScaling: null };
  if (ropeType !== 'llama3') {
    throw new ConfigError(`${f.file}: field "${scaling.prefix}${typeKey}" is "${ropeType}"; only "default" and "llama3" RoPE are supported`);
  }
  const ropeScaling: Llama3RopeScaling = {
    ropeType: 'llama3',
    factor: scaling.positiveNumber('factor'),
    lowFreqFactor: scaling.positiveNumber('low_freq_factor'),
    highFreqFactor: scaling.positiveNumber('high_freq_factor'),
    originalMaxPositionEmbeddings: scaling.positiveInt('original_max_position_embeddings'),
  };
  if (ropeScaling.highFreqFactor <= ropeScaling.lowFreqFactor) {
    throw new ConfigError(`${f.file}: field "${scaling.prefix}high_freq_factor" (${ropeScaling.highFreqFactor}) must be greater than low_freq_factor (${ropeScaling.lowFreqFactor})`);
  }
  return { ropeTheta, ropeScaling };
}
