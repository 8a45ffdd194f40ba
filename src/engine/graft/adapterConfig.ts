/**
 * PEFT `adapter_config.json` for a LoRA adapter: writing (from {@link LoraSettings}) and reading back with checks.
 * Field names and meanings: PEFT `tuners/lora/config.py` (LoraConfig) and `config.py` (PeftConfig); PEFT writes the
 * dataclass fields with `json.dumps(..., indent=2, sort_keys=True)`, which this writer mirrors.
 */
import { TARGET_MODULES, type LoraSettings, type TargetModule } from '../model/loraTypes';

/** Thrown for adapter files the studio cannot read or merge; the message names the file and the field or key. */
export class AdapterError extends Error {
  override name = 'AdapterError';
}

/**
 * The JSON text of adapter_config.json (keys sorted, 2-space indent, trailing newline).
 * Besides the required fields it writes the defaults a current PEFT writes that every PEFT since 0.10 also
 * accepts (alpha_pattern, rank_pattern, use_dora, layer_replication, loftq_config, megatron_*, layers_pattern,
 * revision, auto_mapping); fields added later (e.g. lora_bias, eva_config, exclude_modules) are left out, so that
 * older PEFT versions, which reject unknown keys, can load it too. Newer versions fill their own defaults.
 * @param baseModelNameOrPath the model the adapter is applied to: the Instruct model in Shadow-FT.
 * @throws AdapterError for a non-positive or non-integer r.
 */
export function adapterConfigJson(settings: LoraSettings, baseModelNameOrPath: string): string {
  if (!(Number.isInteger(settings.r) && settings.r > 0)) throw new AdapterError(`adapter_config.json: r must be a positive integer, got ${settings.r}`);
  const cfg: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModelNameOrPath,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: settings.alpha,
    lora_dropout: settings.dropout,
    megatron_config: null,
    megatron_core: 'megatron.core',
    modules_to_save: null,
    peft_type: 'LORA',
    r: settings.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...settings.targetModules].sort(),
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: settings.useRslora,
  };
  return JSON.stringify(cfg, null, 2) + '\n';
}

const isEmpty = (v: unknown): boolean => v === undefined || v === null || (typeof v === 'object' && Object.keys(v as object).length === 0);

/**
 * Parses and checks adapter_config.json text.
 * @param file name used in error messages (e.g. "my-adapter/adapter_config.json").
 * @param moduleNamesInWeights module names seen in the weights, used when target_modules is a regex string or
 *   "all-linear" (PEFT allows both).
 * @returns LoRA settings (targetModules in the canonical q,k,v,o,gate,up,down order).
 * @throws AdapterError when the JSON is invalid, peft_type is not LORA, r/lora_alpha are missing or invalid, or the
 *   adapter uses what a plain W + s·B·A merge cannot express (DoRA, rank/alpha patterns, bias training,
 *   fan_in_fan_out, modules_to_save, target modules other than the seven decoder linears).
 */
export function parseAdapterConfig(text: string, file: string, moduleNamesInWeights: ReadonlySet<string>): LoraSettings {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new AdapterError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new AdapterError(`${file}: expected a JSON object`);
  if (c.peft_type !== 'LORA') throw new AdapterError(`${file}: peft_type is ${JSON.stringify(c.peft_type)}, expected "LORA"`);
  const r = c.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r <= 0) throw new AdapterError(`${file}: r must be a positive integer, got ${JSON.stringify(r)}`);
  const alpha = c.lora_alpha;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new AdapterError(`${file}: lora_alpha must be a number, got ${JSON.stringify(alpha)}`);
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || dropout < 0 || dropout >= 1) throw new AdapterError(`${file}: lora_dropout must be in [0, 1), got ${JSON.stringify(dropout)}`);
  const useRslora = c.use_rslora ?? false;
  if (typeof useRslora !== 'boolean') throw new AdapterError(`${file}: use_rslora must be true or false, got ${JSON.stringify(useRslora)}`);
  if (c.use_dora === true) throw new AdapterError(`${file}: use_dora is true; DoRA adapters are not supported (their merge needs the magnitude vector)`);
  if (c.bias !== undefined && c.bias !== 'none') throw new AdapterError(`${file}: bias is ${JSON.stringify(c.bias)}; only "none" is supported`);
  if (c.fan_in_fan_out === true) throw new AdapterError(`${file}: fan_in_fan_out is true; only nn.Linear layouts (false) are supported`);
  if (!isEmpty(c.rank_pattern)) throw new AdapterError(`${file}: rank_pattern is set; per-module ranks are not supported`);
  if (!isEmpty(c.alpha_pattern)) throw new AdapterError(`${file}: alpha_pattern is set; per-module alphas are not supported`);
  if (!isEmpty(c.modules_to_save)) throw new AdapterError(`${file}: modules_to_save is ${JSON.stringify(c.modules_to_save)}; fully trained modules are not supported`);
  const tm = c.target_modules;
  let names: string[];
  if (Array.isArray(tm) && tm.every((t) => typeof t === 'string')) names = tm as string[];
  else if (typeof tm === 'string') names = [...moduleNamesInWeights];
  else throw new AdapterError(`${file}: target_modules must be a list of module names or a string, got ${JSON.stringify(tm)}`);
  const bad = names.filter((n) => !(TARGET_MODULES as readonly string[]).includes(n));
  if (bad.length) throw new AdapterError(`${file}: target_modules ${bad.join(', ')} not supported (expected a subset of ${TARGET_MODULES.join(', ')})`);
  const targetModules = TARGET_MODULES.filter((m) => names.includes(m)) as TargetModule[];
  return { r, alpha, dropout, useRslora, targetModules };
}
