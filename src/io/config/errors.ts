/**
 * Errors raised while reading a model's config.json. Messages always name the file (and the field when there is one).
 */

/** A config.json is missing a field, has a field of the wrong type or an inconsistent value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The config's model_type has no normaliser (e.g. gemma3_text, mixtral, qwen2_moe).
 * `modelType` is the value found; `supported` the model_type values the studio can train.
 */
export class UnsupportedModelError extends ConfigError {
  override name = 'UnsupportedModelError';
  constructor(
    readonly fileLabel: string,
    readonly modelType: string,
    readonly supported: readonly string[],
  ) {
    super(`${fileLabel}: model_type "${modelType}" is not supported (supported: ${supported.join(', ')})`);
  }
}
