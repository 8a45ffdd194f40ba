/**
 * Entry points for model configs: parse config.json into a validated {@link ModelConfig} (via the per-model_type
 * table in ./families) and the trainer's sliding-window check.
 */
import type { ModelConfig, SupportedModelType } from './types';
import { ConfigFields } from './fields';
import { ConfigError, UnsupportedModelError } from './errors';
import { NORMALIZERS } from './families';

/** The model_type values that have a normaliser, in table order. */
export const SUPPORTED_MODEL_TYPES = Object.keys(NORMALIZERS) as SupportedModelType[];

function isSupported(t: string): t is SupportedModelType {
  return Object.hasOwn(NORMALIZERS, t);
}

/**
 * Normalises a parsed Hugging Face config.json.
 * @param raw the JSON value of config.json
 * @param fileLabel how to name the file in errors, e.g. "Qwen3-0.6B/config.json"
 * @throws ConfigError when raw is not an object, model_type is missing, or a field is missing/invalid (the message
 *   names the file and the field); UnsupportedModelError for any model_type other than llama, mistral, qwen2, qwen3.
 */
export function normalizeConfig(raw: unknown, fileLabel: string): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${fileLabel}: expected a JSON object`);
  const f = new ConfigFields(raw as Record<string, unknown>, fileLabel);
  const modelType = f.string('model_type', null);
  if (modelType === null) throw f.error('model_type', 'a string such as "llama"');
  if (!isSupported(modelType)) throw new UnsupportedModelError(fileLabel, modelType, SUPPORTED_MODEL_TYPES);
  return NORMALIZERS[modelType](f);
}

/**
 * Reads a config.json Blob and normalises it.
 * @throws ConfigError when the file is not valid JSON (naming it), plus everything {@link normalizeConfig} throws.
 */
export async function readModelConfig(blob: Blob, fileLabel: string): Promise<ModelConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await blob.text());
  } catch (e) {
    throw new ConfigError(`${fileLabel}: not valid JSON (${(e as Error).message})`);
  }
  return normalizeConfig(raw, fileLabel);
}

/**
 * Refuses training when a sliding attention window would cut the context: with HF semantics a query attends to the
 * `window` most recent positions (itself included; masking_utils.sliding_window_overlay: kv_idx > q_idx - window), so a window ≥ T
 * (maxLength, tokens) equals full causal attention, which is what the engine computes.
 * @throws ConfigError when cfg.slidingWindow is not null and is shorter than maxLength.
 */
export function checkSlidingWindow(cfg: ModelConfig, maxLength: number): void {
  if (cfg.slidingWindow !== null && cfg.slidingWindow < maxLength) {
    throw new ConfigError(
      `${cfg.modelType} model uses sliding-window attention of ${cfg.slidingWindow} tokens, shorter than the training length ${maxLength}; ` +
        `the trainer only computes full causal attention, so lower the max length to ${cfg.slidingWindow} or less`,
    );
  }
}
