/**
 * Entry points for model configs: parse config.json into a validated {@link ModelConfig} (via the per-model_type
 * table in ./families).
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
 *   names the file and the field), also for a multimodal Gemma 3 (model_type "gemma3"), naming its text tower's sizes;
 *   UnsupportedModelError for any model_type other than llama, mistral, qwen2, qwen3, gemma3_text.
 */
export function normalizeConfig(raw: unknown, fileLabel: string): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${fileLabel}: expected a JSON object`);
  const f = new ConfigFields(raw as Record<string, unknown>, fileLabel);
  const modelType = f.string('model_type', null);
  if (modelType === null) throw f.error('model_type', 'a string such as "llama"');
  if (modelType === 'gemma3') throw multimodalGemma(f);
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
 * The refusal of a multimodal Gemma 3 checkpoint (Gemma3ForConditionalGeneration: text weights under
 * `language_model.`, a vision tower beside them): the studio tunes the text-only Gemma3ForCausalLM layout, whose
 * PEFT keys and merged folder differ; the message names the text tower's sizes so the user can pick the right pair.
 */
function multimodalGemma(f: ConfigFields): ConfigError {
  const t = f.object('text_config');
  const size = (k: string) => (t?.has(k) ? String(t.raw[k]) : '?');
  return new ConfigError(
    `${f.file}: model_type "gemma3" is a multimodal Gemma 3 checkpoint (Gemma3ForConditionalGeneration; text tower hidden_size ${size('hidden_size')}, ` +
      `${size('num_hidden_layers')} layers, head_dim ${size('head_dim')}). The studio tunes text-only Gemma 3 (model_type "gemma3_text", ` +
      'Gemma3ForCausalLM, e.g. google/gemma-3-270m and google/gemma-3-1b-pt with their -it models); use such a pair instead, or save the text tower with ' +
      'transformers (Gemma3ForCausalLM) first',
  );
}
