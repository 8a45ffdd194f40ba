/**
 * Model config API: normalise config.json into {@link ModelConfig} (one normaliser per model_type).
 */
export type { ModelConfig, SupportedModelType, Llama3RopeScaling, LinearRopeScaling, RopeScaling, LayerType, HiddenAct } from './types';
export { ConfigError, UnsupportedModelError } from './errors';
export { normalizeConfig, readModelConfig, SUPPORTED_MODEL_TYPES } from './normalize';
