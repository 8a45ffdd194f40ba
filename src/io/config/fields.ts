/**
 * Typed, validated access to the members of a raw config.json object. Every error names the file and the field,
 * e.g. `stories260K-base/config.json: field "hidden_size" must be a positive integer, got "64"`.
 * A member that is absent or JSON null counts as "not given" (HF PretrainedConfig stores null as None and the
 * config class then applies its own default).
 */
import { ConfigError } from './errors';

/** A raw config object plus the label used in error messages. */
export class ConfigFields {
  /**
   * @param raw the parsed JSON object
   * @param file label for messages, e.g. "Qwen3-0.6B/config.json"
   * @param prefix path of this object inside the file, e.g. "rope_scaling." (empty at the top level)
   */
  constructor(
    readonly raw: Readonly<Record<string, unknown>>,
    readonly file: string,
    readonly prefix = '',
  ) {}

  /** True when the member exists and is not null. */
  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  /** Builds a ConfigError naming the file and `key`. */
  error(key: string, expected: string): ConfigError {
    const v = this.raw[key];
    const got = v === undefined ? 'it is missing' : `got ${JSON.stringify(v)}`;
    return new ConfigError(`${this.file}: field "${this.prefix}${key}" must be ${expected}, ${got}`);
  }

  /** A positive integer; `def` is used when the member is absent/null (no default → required). @throws ConfigError */
  positiveInt(key: string, def?: number): number {
    if (!this.has(key)) {
      if (def === undefined) throw this.error(key, 'a positive integer');
      return def;
    }
    const v = this.raw[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw this.error(key, 'a positive integer');
    return v;
  }

  /** An integer ≥ 0 (counts such as max_window_layers); `def` when absent/null. @throws ConfigError */
  positiveIntOrZero(key: string, def?: number): number {
    if (!this.has(key)) {
      if (def === undefined) throw this.error(key, 'an integer ≥ 0');
      return def;
    }
    const v = this.raw[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw this.error(key, 'an integer ≥ 0');
    return v;
  }

  /** A finite number > 0 (eps, rope_theta, factors); `def` when absent/null. @throws ConfigError */
  positiveNumber(key: string, def?: number): number {
    if (!this.has(key)) {
      if (def === undefined) throw this.error(key, 'a positive number');
      return def;
    }
    const v = this.raw[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw this.error(key, 'a positive number');
    return v;
  }

  /** A boolean; `def` when absent/null. @throws ConfigError */
  bool(key: string, def: boolean): boolean {
    if (!this.has(key)) return def;
    const v = this.raw[key];
    if (typeof v !== 'boolean') throw this.error(key, 'true or false');
    return v;
  }

  /** A string; `def` when absent/null. @throws ConfigError */
  string(key: string, def: string | null): string | null {
    if (!this.has(key)) return def;
    const v = this.raw[key];
    if (typeof v !== 'string') throw this.error(key, 'a string');
    return v;
  }

  /** A token id (integer ≥ 0) or null; `def` when the member is absent (an explicit null stays null). @throws ConfigError */
  tokenId(key: string, def: number | null): number | null {
    const v = this.raw[key];
    if (v === undefined) return def;
    if (v === null) return null;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw this.error(key, 'a token id (integer ≥ 0) or null');
    return v;
  }

  /** Token ids given as one integer or a list of integers (HF eos_token_id); `def` when absent. @throws ConfigError */
  tokenIds(key: string, def: readonly number[]): readonly number[] {
    const v = this.raw[key];
    if (v === undefined) return def;
    if (v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    for (const id of list) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw this.error(key, 'a token id or a list of token ids');
    }
    return list as number[];
  }

  /** A nested object (or null when absent/null). @throws ConfigError when present but not an object. */
  object(key: string): ConfigFields | null {
    if (!this.has(key)) return null;
    const v = this.raw[key];
    if (typeof v !== 'object' || Array.isArray(v)) throw this.error(key, 'an object or null');
    return new ConfigFields(v as Record<string, unknown>, this.file, `${this.prefix}${key}.`);
  }
}
