/**
 * PEFT LoRA adapter files ↔ {@link LoraAdapter}.
 * On disk (PEFT `utils/save_and_load.py` get_peft_model_state_dict, which drops the adapter name "default"):
 * `adapter_config.json` + `adapter_model.safetensors` with keys
 * `base_model.model.model.layers.{i}.{self_attn|mlp}.{q,k,v,o,gate,up,down}_proj.lora_A.weight` [R, in] and
 * `….lora_B.weight` [out, R] (PEFT `tuners/lora/layer.py`: lora_A = nn.Linear(in, r), lora_B = nn.Linear(r, out)),
 * F32, header metadata {"format": "pt"}, tensors sorted by name as the safetensors writer does.
 */
import type { ModelFiles } from '../../io/checkpoint';
import { decodeToF32, isWeightDType } from '../../io/dtype';
import { readSafetensorsHeader, readTensorBytes, safetensorsBlob } from '../../io/safetensors';
import type { LoraAdapter, LoraModuleWeights, LoraSettings } from '../model/loraTypes';
import { AdapterError, adapterConfigJson, parseAdapterConfig } from './adapterConfig';
import { adapterModelCard, type AdapterCardInfo } from './adapterCard';
import { parsePeftKey } from './adapterKeys';

export { AdapterError } from './adapterConfig';

/** `model.layers.{i}.{self_attn|mlp}.{name}`; groups: layer, group, module name. */
const MODULE_PATH_RE = /^model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)$/;
/** A PEFT LoRA key; groups: module path, A|B. */
const PEFT_KEY_RE = /^base_model\.model\.(.+)\.lora_(A|B)\.weight$/;
const ATTN = new Set(['q_proj', 'k_proj', 'v_proj', 'o_proj']);
const MLP = new Set(['gate_proj', 'up_proj', 'down_proj']);

/** The files of a PEFT adapter (file name → contents), ready to save or zip; README.md is the model card. */
export type AdapterFiles = {
  readonly 'adapter_config.json': string;
  readonly 'adapter_model.safetensors': Blob;
  readonly 'README.md': string;
};

/** The file names of {@link AdapterFiles} in the order they are written. */
export const ADAPTER_FILE_NAMES = ['adapter_config.json', 'adapter_model.safetensors', 'README.md'] as const;

/** PEFT key of a module's lora_A or lora_B weight, e.g. `base_model.model.model.layers.0.mlp.up_proj.lora_A.weight`. */
export function peftKey(modulePath: string, which: 'A' | 'B'): string {
  return `base_model.model.${modulePath}.lora_${which}.weight`;
}

/**
 * Checks a module path (`model.layers.3.self_attn.q_proj`) and returns its module name (`q_proj`).
 * @throws AdapterError naming `where` when the path is not a decoder linear under the right group.
 */
export function checkModulePath(path: string, where: string): string {
  const m = MODULE_PATH_RE.exec(path);
  const name = m?.[3] ?? '';
  const ok = m !== null && ((m[2] === 'self_attn' && ATTN.has(name)) || (m[2] === 'mlp' && MLP.has(name)));
  if (!ok) throw new AdapterError(`${where}: ${path} is not a LoRA-targetable module (expected model.layers.N.self_attn.{q,k,v,o}_proj or model.layers.N.mlp.{gate,up,down}_proj)`);
  return name;
}

/** Checks one module's arrays against r, in and out. @throws AdapterError naming the module. */
function checkModule(path: string, w: LoraModuleWeights, r: number, where: string): void {
  if (w.a.length !== r * w.inFeatures) throw new AdapterError(`${where}: ${path} lora_A has ${w.a.length} values, expected r × in = ${r} × ${w.inFeatures}`);
  if (w.b.length !== w.outFeatures * r) throw new AdapterError(`${where}: ${path} lora_B has ${w.b.length} values, expected out × r = ${w.outFeatures} × ${r}`);
}

/**
 * Builds the two files of a PEFT LoRA adapter.
 * @param adapter trained weights (lora_A [R, in], lora_B [out, R], f32) keyed by module path.
 * @param opts.baseModelNameOrPath written as base_model_name_or_path: the Instruct model (Shadow-FT grafts onto it);
 *   a Hub id or an absolute path loads from any working directory (adapterBaseModel.ts picks it).
 * @param opts.card what the model card says about the run (adapterCard.ts); without it the card lists the LoRA only.
 * @throws AdapterError when a module path is not targetable, its name is not in settings.targetModules, or an
 *   array length does not match r × in / out × r.
 */
export function buildAdapterFiles(adapter: LoraAdapter, opts: { baseModelNameOrPath: string; card?: Omit<AdapterCardInfo, 'baseModelNameOrPath'> }): AdapterFiles {
  const { r } = adapter.settings;
  const tensors = [];
  for (const [path, w] of adapter.modules) {
    const name = checkModulePath(path, 'buildAdapterFiles');
    if (!(adapter.settings.targetModules as readonly string[]).includes(name)) throw new AdapterError(`buildAdapterFiles: ${path} is not in target_modules ${adapter.settings.targetModules.join(', ')}`);
    checkModule(path, w, r, 'buildAdapterFiles');
    const a = new Uint8Array(w.a.buffer, w.a.byteOffset, w.a.byteLength) as Uint8Array<ArrayBuffer>;
    const b = new Uint8Array(w.b.buffer, w.b.byteOffset, w.b.byteLength) as Uint8Array<ArrayBuffer>;
    tensors.push({ name: peftKey(path, 'A'), dtype: 'F32' as const, shape: [r, w.inFeatures], byteLength: a.byteLength, data: a });
    tensors.push({ name: peftKey(path, 'B'), dtype: 'F32' as const, shape: [w.outFeatures, r], byteLength: b.byteLength, data: b });
  }
  tensors.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return {
    'adapter_config.json': adapterConfigJson(adapter.settings, opts.baseModelNameOrPath),
    'adapter_model.safetensors': safetensorsBlob(tensors, { format: 'pt' }),
    'README.md': adapterModelCard(adapter.settings, { ...opts.card, baseModelNameOrPath: opts.baseModelNameOrPath }),
  };
}

/** One decoded adapter tensor. */
export interface PeftTensor {
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/**
 * Groups PEFT LoRA tensors into modules and checks them (the core of {@link readAdapterFiles}).
 * @param tensors PEFT key → tensor; every key must be a lora_A/lora_B key of a targetable module.
 * @param where file name for error messages.
 * @throws AdapterError for an unknown key, a module with only one of A/B, shapes that are not A [r, in] /
 *   B [out, r], or a module outside settings.targetModules.
 */
export function adapterFromPeftTensors(settings: LoraSettings, tensors: ReadonlyMap<string, PeftTensor>, where: string): LoraAdapter {
  const parts = new Map<string, { a?: PeftTensor; b?: PeftTensor }>();
  for (const [key, t] of tensors) {
    const m = PEFT_KEY_RE.exec(key);
    if (!m) throw new AdapterError(`${where}: unexpected tensor ${key} (expected base_model.model.<module>.lora_A.weight / .lora_B.weight)`);
    const path = m[1] as string;
    checkModulePath(path, `${where}: ${key}`);
    const e = parts.get(path) ?? {};
    if (m[2] === 'A') e.a = t;
    else e.b = t;
    parts.set(path, e);
  }
  const { r } = settings;
  const modules = new Map<string, LoraModuleWeights>();
  for (const path of [...parts.keys()].sort()) {
    const { a, b } = parts.get(path) as { a?: PeftTensor; b?: PeftTensor };
    if (!a || !b) throw new AdapterError(`${where}: ${path} has lora_${a ? 'A' : 'B'} but no lora_${a ? 'B' : 'A'}`);
    const name = checkModulePath(path, where);
    if (!(settings.targetModules as readonly string[]).includes(name)) throw new AdapterError(`${where}: ${path} is not in target_modules ${settings.targetModules.join(', ')}`);
    if (a.shape.length !== 2 || a.shape[0] !== r) throw new AdapterError(`${where}: ${peftKey(path, 'A')} has shape ${JSON.stringify(a.shape)}, expected [r=${r}, in_features]`);
    if (b.shape.length !== 2 || b.shape[1] !== r) throw new AdapterError(`${where}: ${peftKey(path, 'B')} has shape ${JSON.stringify(b.shape)}, expected [out_features, r=${r}]`);
    const w = { a: a.values, b: b.values, inFeatures: a.shape[1] as number, outFeatures: b.shape[0] as number };
    checkModule(path, w, r, where);
    modules.set(path, w);
  }
  if (modules.size === 0) throw new AdapterError(`${where}: no LoRA tensors found`);
  return { settings, modules };
}

/**
 * Reads a PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors; F32, BF16 or F16 weights,
 * upcast exactly to f32). The whole adapter is loaded into memory (it is small next to the model).
 * @throws AdapterError when a file is missing (adapter_model.bin alone: asks for safetensors), the config is not a
 *   supported LoRA config (see parseAdapterConfig), or a key/shape is wrong; SafetensorsError for a malformed file.
 */
export async function readAdapterFiles(files: ModelFiles): Promise<LoraAdapter> {
  const cfgBlob = files.files.get('adapter_config.json');
  if (!cfgBlob) throw new AdapterError(`${files.name}: adapter_config.json is missing`);
  const stBlob = files.files.get('adapter_model.safetensors');
  if (!stBlob) {
    const hint = files.files.has('adapter_model.bin') ? ' (only adapter_model.bin found: save the adapter with safe_serialization=True)' : '';
    throw new AdapterError(`${files.name}: adapter_model.safetensors is missing${hint}`);
  }
  const where = `${files.name}/adapter_model.safetensors`;
  const header = await readSafetensorsHeader(stBlob, where);
  const tensors = new Map<string, PeftTensor>();
  const names = new Set<string>();
  for (const info of header.tensors.values()) {
    if (!isWeightDType(info.dtype)) throw new AdapterError(`${where}: tensor ${info.name} has dtype ${info.dtype}, expected F32, BF16 or F16`);
    // PEFT's in-memory `.lora_A.default.weight` is read as the saved `.lora_A.weight` (adapterKeys.ts).
    const key = parsePeftKey(info.name, where)?.key ?? info.name;
    if (tensors.has(key)) throw new AdapterError(`${where}: ${key} appears twice (once with the ".default" adapter name)`);
    tensors.set(key, { shape: info.shape, values: decodeToF32(await readTensorBytes(stBlob, info), info.dtype) });
    const m = /\.([a-z_]+)\.lora_[AB]\.weight$/.exec(key);
    if (m) names.add(m[1] as string);
  }
  const settings = parseAdapterConfig(await cfgBlob.text(), `${files.name}/adapter_config.json`, names);
  return adapterFromPeftTensors(settings, tensors, where);
}
