/**
 * Checks a PEFT adapter's tensor keys against the model it is merged onto, before any weight is read, so an adapter
 * trained for another model (or saved with another prefix) is refused with what did not match:
 * - PEFT saves `base_model.model.<module>.lora_A.weight` (`get_peft_model_state_dict` removes the adapter name);
 *   the in-memory `model.state_dict()` form `<module>.lora_A.default.weight` is read as the same key (said in a
 *   warning); any other adapter name (`.lora_A.<name>.weight`) is refused by name.
 * - every key must map to an existing `<module>.weight` of the model; when none does, the error quotes one adapter
 *   key, the nearest model key and "0 of N matched".
 * - modules listed in `target_modules` with no tensor in the file are reported as a warning.
 */
import type { Checkpoint, ModelFiles } from '../../io/checkpoint';
import { readSafetensorsHeader } from '../../io/safetensors';
import { AdapterError } from './adapterConfig';

/** A normalised adapter key: the PEFT on-disk form, the module path and A|B. */
export interface PeftKeyParts {
  /** `base_model.model.<module>.lora_{A|B}.weight` */
  readonly key: string;
  readonly modulePath: string;
  readonly which: 'A' | 'B';
  /** The adapter name found in the key ("default"), or null for the on-disk form. */
  readonly adapterName: string | null;
}

const KEY_RE = /^(?:base_model\.model\.)?(.+)\.lora_(A|B)(?:\.([A-Za-z0-9_-]+))?\.weight$/;

/**
 * Parses a LoRA key in PEFT's saved form or its in-memory `.default.` form.
 * @returns null when the key is not a lora_A/lora_B weight.
 * @throws AdapterError naming the key when it carries an adapter name other than "default".
 */
export function parsePeftKey(key: string, where: string): PeftKeyParts | null {
  const m = KEY_RE.exec(key);
  if (!m) return null;
  const name = m[3] ?? null;
  if (name !== null && name !== 'default') throw new AdapterError(`${where}: ${key} belongs to an adapter named "${name}"; only PEFT's saved form (…lora_A.weight) or the "default" adapter (…lora_A.default.weight) can be read — save it with model.save_pretrained(), which writes the saved form`);
  const modulePath = m[1] as string;
  const which = m[2] as 'A' | 'B';
  return { key: `base_model.model.${modulePath}.lora_${which}.weight`, modulePath, which, adapterName: name };
}

/** Levenshtein distance (for the nearest model key in error messages). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The model key closest to `want` (edit distance; ties: the first in order). */
export function nearestKey(want: string, keys: Iterable<string>): string | null {
  let best: string | null = null;
  let d = Infinity;
  for (const k of keys) {
    const e = distance(want, k);
    if (e < d) [best, d] = [k, e];
  }
  return best;
}

/** What {@link checkAdapterKeys} found. */
export interface AdapterKeyReport {
  /** Adapter keys that name a lora_A/lora_B weight. */
  readonly loraKeys: number;
  readonly matched: number;
  readonly warnings: readonly string[];
}

/**
 * Checks every adapter key against the model's tensor names.
 * @param keys tensor names of adapter_model.safetensors; @param modelTensors the model's tensor names.
 * @param targetModules adapter_config.json target_modules (names such as q_proj), or null when it is a regex string.
 * @throws AdapterError: "0 of N matched" quoting one adapter key and the nearest model key; a key that is not a LoRA
 *   weight; an adapter name other than "default"; some keys unmatched (the first one, with its nearest model key).
 */
export function checkAdapterKeys(keys: readonly string[], modelTensors: ReadonlySet<string>, targetModules: readonly string[] | null, where: string, modelName: string): AdapterKeyReport {
  const warnings: string[] = [];
  const parsed: PeftKeyParts[] = [];
  for (const k of keys) {
    const p = parsePeftKey(k, where);
    if (!p) throw new AdapterError(`${where}: ${k} is not a LoRA weight (expected base_model.model.<module>.lora_A.weight / .lora_B.weight)`);
    parsed.push(p);
  }
  if (parsed.length === 0) throw new AdapterError(`${where}: no LoRA tensors found`);
  const withName = parsed.filter((p) => p.adapterName !== null);
  if (withName.length) warnings.push(`${where}: keys use PEFT's in-memory form with the adapter name ("${withName[0]?.key.replace(/\.lora_([AB])\.weight$/, '.lora_$1')}.default.weight"); read as the saved form (….lora_A.weight)`);
  const unmatched = parsed.filter((p) => !modelTensors.has(`${p.modulePath}.weight`));
  if (unmatched.length > 0) {
    const first = unmatched[0] as PeftKeyParts;
    const near = nearestKey(`${first.modulePath}.weight`, modelTensors);
    const head = unmatched.length === parsed.length ? `0 of ${parsed.length} adapter tensors matched a tensor of ${modelName}` : `${parsed.length - unmatched.length} of ${parsed.length} adapter tensors matched a tensor of ${modelName}`;
    throw new AdapterError(`${where}: ${head}: e.g. adapter key ${keys[parsed.indexOf(first)]} needs ${first.modulePath}.weight; nearest model key: ${near ?? '(the model has no tensors)'} — was the adapter trained for another model?`);
  }
  if (targetModules) {
    const seen = new Set(parsed.map((p) => p.modulePath.slice(p.modulePath.lastIndexOf('.') + 1)));
    const missing = targetModules.filter((m) => !seen.has(m));
    if (missing.length) warnings.push(`${where}: target_modules lists ${missing.join(', ')} but the file has no LoRA tensors for ${missing.length > 1 ? 'them' : 'it'}`);
  }
  return { loraKeys: parsed.length, matched: parsed.length - unmatched.length, warnings };
}

/**
 * Reads only the adapter's header and adapter_config.json target_modules and runs {@link checkAdapterKeys} against
 * the model's tensors.
 * @throws AdapterError as checkAdapterKeys, or when a file is missing; SafetensorsError for a malformed file.
 */
export async function checkAdapterFilesAgainstModel(adapter: ModelFiles, model: Checkpoint): Promise<AdapterKeyReport> {
  const st = adapter.files.get('adapter_model.safetensors');
  if (!st) throw new AdapterError(`${adapter.name}: adapter_model.safetensors is missing${adapter.files.has('adapter_model.bin') ? ' (only adapter_model.bin found: save the adapter with safe_serialization=True)' : ''}`);
  const where = `${adapter.name}/adapter_model.safetensors`;
  const header = await readSafetensorsHeader(st, where);
  let targetModules: string[] | null = null;
  const cfg = adapter.files.get('adapter_config.json');
  if (cfg) {
    try {
      const tm = (JSON.parse(await cfg.text()) as { target_modules?: unknown }).target_modules;
      if (Array.isArray(tm) && tm.every((t) => typeof t === 'string')) targetModules = tm as string[];
    } catch {
      // parseAdapterConfig reports a malformed config with its own message.
    }
  }
  return checkAdapterKeys([...header.tensors.keys()], new Set(model.tensors.keys()), targetModules, where, model.modelName);
}
