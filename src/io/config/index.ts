/**
 * Model config API: normalise config.json into {@link ModelConfig} (one normaliser per model_type) and the
 * sliding-window check.
 */
export type { ModelConfig, SupportedModelType, Llama3RopeScaling } from './types';
export { ConfigError, UnsupportedModelError } from './errors';
export { normalizeConfig, readModelConfig, checkSlidingWindow, SUPPORTED_MODEL_TYPES } from './normalize';
