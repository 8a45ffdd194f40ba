/**
 * A {@link TrainCheckpoint} as ONE safetensors file a user can inspect with `safetensors.safe_open`:
 * - `base_model.model.<module>.lora_A.weight` [R, in] and `….lora_B.weight` [out, R] (F32, PEFT's adapter keys, so
 *   the LoRA part loads like an adapter_model.safetensors);
 * - `….lora_A.weight.exp_avg` / `….exp_avg_sq` (and the same for lora_B): AdamW's moments (torch's
 *   optimizer.state names), F32, same shapes;
 * - `__metadata__`: {"format": "pt", "shadowft_checkpoint": JSON of everything else (format, version, app version,
 *   model / data identity, settings, steps, loss history, held-out results, held-out losses during training as
 *   [step, loss] pairs, save time)}. Non-finite numbers of the
 *   history are written as the strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers);
 * - stage dpo: `reference_chosen_logps` / `reference_rejected_logps`, F64 [N]: the reference log-probs of the N
 *   training pairs (exact f64, so a resumed run is bit-identical; NaN for pairs the step plan does not use), and
 *   `heldout_reference_{base,instruct}_{chosen,rejected}_logps`, F64 [N_heldout]: the untrained models' held-out
 *   log-probs measured so far (the reference of the held-out metrics).
 * - finetuning_type full: instead of the LoRA keys, every trainable tensor under its HF name (the f32 master W_B′,
 *   e.g. `model.layers.0.mlp.up_proj.weight`, loadable like a model file) with `<name>.exp_avg` / `<name>.exp_avg_sq`,
 *   F32 of the tensor's shape — 12 bytes per trainable parameter; the metadata lists them as `fullTensors`.
 */
import { readSafetensorsHeader, readTensorBytes, safetensorsBlob, type TensorInfo } from '../../io/safetensors';
import { peftKey } from '../graft/adapterFiles';
import type { LoraModuleWeights } from '../model/loraTypes';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type FullState, type TrainCheckpoint } from './checkpoint';

/** The metadata key holding the checkpoint's JSON. */
export const CHECKPOINT_METADATA_KEY = 'shadowft_checkpoint';

/** Thrown for a file that is not a readable checkpoint of this format; names the file and what is wrong. */
export class CheckpointFileError extends Error {
  override name = 'CheckpointFileError';
}

type Kind = 'params' | 'm' | 'v';
const SUFFIX: Record<Kind, string> = { params: '', m: '.exp_avg', v: '.exp_avg_sq' };

/** Tensor names of the stage-dpo reference log-probs. */
export const REFERENCE_KEYS = { chosen: 'reference_chosen_logps', rejected: 'reference_rejected_logps' } as const;
/** Tensor names of the stage-dpo held-out log-probs of the untrained Base and Instruct. */
export const HELDOUT_REFERENCE_KEYS = {
  base: { chosen: 'heldout_reference_base_chosen_logps', rejected: 'heldout_reference_base_rejected_logps' },
  instruct: { chosen: 'heldout_reference_instruct_chosen_logps', rejected: 'heldout_reference_instruct_rejected_logps' },
} as const;

type LogpPair = { readonly chosen: Float64Array; readonly rejected: Float64Array };

const num = (x: number): number | string => (Number.isFinite(x) ? x : String(x));
const unnum = (x: unknown, where: string): number => {
  if (typeof x === 'number') return x;
  if (x === 'NaN' || x === 'Infinity' || x === '-Infinity') return Number(x);
  throw new CheckpointFileError(`${where}: expected a number, got ${JSON.stringify(x)}`);
};

/**
 * Encodes a checkpoint as a safetensors Blob (see the file comment).
 * @throws SafetensorsError when two modules give the same key (cannot happen for a state from run.ts).
 */
export function encodeCheckpoint(c: TrainCheckpoint): Blob {
  const tensors: { name: string; dtype: 'F32' | 'F64'; shape: number[]; byteLength: number; data: Uint8Array }[] = [];
  for (const kind of ['params', 'm', 'v'] as const) {
    for (const [path, w] of c[kind]) {
      const r = w.a.length / w.inFeatures;
      for (const [which, arr, shape] of [['A', w.a, [r, w.inFeatures]], ['B', w.b, [w.outFeatures, r]]] as const) {
        tensors.push({ name: peftKey(path, which) + SUFFIX[kind], dtype: 'F32', shape: [...shape], byteLength: arr.byteLength, data: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) });
      }
    }
  }
  if (c.full) {
    for (const kind of ['params', 'm', 'v'] as const) {
      for (const [name, arr] of c.full[kind]) {
        const shape = c.full.shapes.get(name) ?? [arr.length];
        tensors.push({ name: name + SUFFIX[kind], dtype: 'F32', shape: [...shape], byteLength: arr.byteLength, data: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) });
      }
    }
  }
  const pushPair = (p: LogpPair | undefined, keys: { readonly chosen: string; readonly rejected: string }): void => {
    if (!p) return;
    for (const k of ['chosen', 'rejected'] as const) {
      const arr = p[k];
      tensors.push({ name: keys[k], dtype: 'F64', shape: [arr.length], byteLength: arr.byteLength, data: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) });
    }
  };
  pushPair(c.reference, REFERENCE_KEYS);
  pushPair(c.heldoutReference?.base, HELDOUT_REFERENCE_KEYS.base);
  pushPair(c.heldoutReference?.instruct, HELDOUT_REFERENCE_KEYS.instruct);
  const meta = {
    format: c.format,
    version: c.version,
    appVersion: c.appVersion,
    modelId: c.modelId,
    modelName: c.modelName,
    dataId: c.dataId,
    settings: c.settings,
    step: c.step,
    totalSteps: c.totalSteps,
    history: c.history.map((p) => [p.step, num(p.loss), num(p.lr), num(p.gradNorm)]),
    evals: c.evals.map((e) => ({ ...e, loss: num(e.loss) })),
    evalPoints: (c.evalPoints ?? []).map((e) => [e.step, num(e.loss)]),
    modules: [...c.params.keys()],
    ...(c.full ? { fullTensors: [...c.full.params.keys()] } : {}),
    savedAt: c.savedAt,
  };
  return safetensorsBlob(tensors, { format: 'pt', [CHECKPOINT_METADATA_KEY]: JSON.stringify(meta) });
}

/**
 * Decodes and validates a checkpoint file: the format and version, the metadata fields, and for every module listed
 * lora_A / lora_B with exp_avg / exp_avg_sq of shapes [R, in] / [out, R] (R = settings.lora.r), F32; the history
 * holds one point per step done.
 * @param fileName for error messages
 * @throws CheckpointFileError naming the file and the field or tensor; SafetensorsError for a malformed file.
 */
export async function decodeCheckpoint(blob: Blob, fileName: string): Promise<TrainCheckpoint> {
  const header = await readSafetensorsHeader(blob, fileName);
  const bad = (why: string): never => {
    throw new CheckpointFileError(`${fileName}: ${why}`);
  };
  const text = header.metadata[CHECKPOINT_METADATA_KEY];
  if (text === undefined) bad(`no "${CHECKPOINT_METADATA_KEY}" in the safetensors metadata: this is not a Shadow-FT Studio training checkpoint`);
  let m: Record<string, unknown> = {};
  try {
    m = JSON.parse(text as string) as Record<string, unknown>;
  } catch (e) {
    bad(`the checkpoint metadata is not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== CHECKPOINT_FORMAT) bad(`format is ${JSON.stringify(m.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (m.version !== CHECKPOINT_VERSION) bad(`checkpoint version ${JSON.stringify(m.version)} is not supported (this studio reads version ${CHECKPOINT_VERSION})`);
  for (const k of ['appVersion', 'modelId', 'modelName', 'dataId', 'savedAt'] as const) if (typeof m[k] !== 'string') bad(`field ${k} must be a string`);
  const settings = m.settings as TrainCheckpoint['settings'] | undefined;
  if (!settings || typeof settings !== 'object' || !settings.lora || !Number.isInteger(settings.lora.r)) bad('field settings is missing or has no lora.r');
  const r = (settings as TrainCheckpoint['settings']).lora.r;
  const step = m.step as number;
  const totalSteps = m.totalSteps as number;
  if (!Number.isInteger(totalSteps) || totalSteps < 1) bad(`totalSteps must be a whole number ≥ 1, got ${JSON.stringify(totalSteps)}`);
  if (!Number.isInteger(step) || step < 0 || step > totalSteps) bad(`step must be a whole number in 0..${totalSteps}, got ${JSON.stringify(step)}`);
  const hist = m.history;
  if (!Array.isArray(hist) || hist.length !== step) bad(`history must hold one point per step done (${step}), got ${Array.isArray(hist) ? hist.length : typeof hist}`);
  const history = (hist as unknown[][]).map((p, i) => {
    if (!Array.isArray(p) || p.length !== 4 || p[0] !== i + 1) bad(`history[${i}] must be [step ${i + 1}, loss, lr, gradNorm]`);
    return { step: i + 1, loss: unnum(p[1], `${fileName}: history[${i}].loss`), lr: unnum(p[2], `${fileName}: history[${i}].lr`), gradNorm: unnum(p[3], `${fileName}: history[${i}].gradNorm`) };
  });
  if (!Array.isArray(m.evals)) bad('field evals must be a list');
  const evals = (m.evals as { model: TrainCheckpoint['evals'][number]['model']; when: 'before' | 'after'; loss: unknown }[]).map((e, i) => ({ model: e.model, when: e.when, loss: unnum(e.loss, `${fileName}: evals[${i}].loss`) }));
  // evalPoints: absent in files written before evaluations during training were kept.
  const ep = m.evalPoints ?? [];
  if (!Array.isArray(ep)) bad('field evalPoints must be a list of [step, loss]');
  const evalPoints = (ep as unknown[]).map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2 || !Number.isInteger(p[0]) || (p[0] as number) < 1 || (p[0] as number) > step) bad(`evalPoints[${i}] must be [step 1..${step}, loss]`);
    return { step: (p as number[])[0] as number, loss: unnum((p as unknown[])[1], `${fileName}: evalPoints[${i}].loss`) };
  });
  const modules = m.modules;
  const fullNames = m.fullTensors;
  if (fullNames !== undefined && (!Array.isArray(fullNames) || fullNames.length === 0 || !fullNames.every((x) => typeof x === 'string'))) bad('field fullTensors must list the trained tensors of a full-parameter run');
  if (fullNames !== undefined && (settings as TrainCheckpoint['settings']).finetuningType !== 'full') bad('the file holds full-parameter tensors (fullTensors) but its settings are not finetuningType "full"');
  if (fullNames === undefined && (settings as TrainCheckpoint['settings']).finetuningType === 'full') bad('settings say finetuningType "full" but the metadata lists no fullTensors');
  if (!Array.isArray(modules) || (fullNames === undefined && modules.length === 0) || !modules.every((x) => typeof x === 'string')) bad('field modules must list the LoRA module paths');
  const read = async (key: string, rows: number | null, cols: number | null): Promise<{ info: TensorInfo; values: Float32Array }> => {
    const info = header.tensors.get(key);
    if (!info) return bad(`tensor ${key} is missing`);
    if (info.dtype !== 'F32' || info.shape.length !== 2) bad(`tensor ${key} is ${info.dtype} ${JSON.stringify(info.shape)}, expected F32 of rank 2`);
    if ((rows !== null && info.shape[0] !== rows) || (cols !== null && info.shape[1] !== cols)) bad(`tensor ${key} has shape ${JSON.stringify(info.shape)}, expected [${rows ?? 'in/out'}, ${cols ?? 'in/out'}] (r = ${r})`);
    const bytes = await readTensorBytes(blob, info);
    return { info, values: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
  };
  const maps: Record<Kind, Map<string, LoraModuleWeights>> = { params: new Map(), m: new Map(), v: new Map() };
  for (const path of modules as string[]) {
    for (const kind of ['params', 'm', 'v'] as const) {
      const a = await read(peftKey(path, 'A') + SUFFIX[kind], r, null);
      const b = await read(peftKey(path, 'B') + SUFFIX[kind], null, r);
      maps[kind].set(path, { a: a.values, b: b.values, inFeatures: a.info.shape[1] as number, outFeatures: b.info.shape[0] as number });
    }
    const p = maps.params.get(path) as LoraModuleWeights;
    for (const kind of ['m', 'v'] as const) {
      const q = maps[kind].get(path) as LoraModuleWeights;
      if (q.inFeatures !== p.inFeatures || q.outFeatures !== p.outFeatures) bad(`${path}: the AdamW ${SUFFIX[kind].slice(1)} tensors' shapes differ from lora_A / lora_B`);
    }
  }
  const readPair = async (keys: { readonly chosen: string; readonly rejected: string }, what: string): Promise<LogpPair | undefined> => {
    if (!header.tensors.has(keys.chosen) && !header.tensors.has(keys.rejected)) return undefined;
    const ref = async (key: string): Promise<Float64Array> => {
      const info = header.tensors.get(key);
      if (!info) return bad(`tensor ${key} is missing (the ${what} log-probs come in a chosen/rejected pair)`);
      if (info.dtype !== 'F64' || info.shape.length !== 1) bad(`tensor ${key} is ${info.dtype} ${JSON.stringify(info.shape)}, expected F64 of rank 1`);
      const bytes = await readTensorBytes(blob, info);
      return new Float64Array(bytes.slice().buffer);
    };
    const p = { chosen: await ref(keys.chosen), rejected: await ref(keys.rejected) };
    if (p.chosen.length !== p.rejected.length) bad(`${keys.chosen} has ${p.chosen.length} values but ${keys.rejected} ${p.rejected.length}; expected one per ${what} pair in both`);
    return p;
  };
  const reference = await readPair(REFERENCE_KEYS, 'training');
  const heldBase = await readPair(HELDOUT_REFERENCE_KEYS.base, 'held-out');
  const heldInstruct = await readPair(HELDOUT_REFERENCE_KEYS.instruct, 'held-out');
  const extra = [reference, heldBase, heldInstruct].filter((p) => p !== undefined).length * 2;
  const full = fullNames === undefined ? undefined : await readFullState(blob, header.tensors, fullNames as string[], bad);
  const expected = 6 * (modules as string[]).length + extra + 3 * (full?.params.size ?? 0);
  if (header.tensors.size !== expected) bad(`${header.tensors.size} tensors, expected ${expected} (6 per module listed in the metadata${extra ? `, plus ${extra} log-prob tensors` : ''})`);
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    appVersion: m.appVersion as string,
    modelId: m.modelId as string,
    modelName: m.modelName as string,
    dataId: m.dataId as string,
    settings: settings as TrainCheckpoint['settings'],
    step,
    totalSteps,
    history,
    evals,
    evalPoints,
    params: maps.params,
    m: maps.m,
    v: maps.v,
    savedAt: m.savedAt as string,
    ...(reference ? { reference } : {}),
    ...(full ? { full } : {}),
    ...(heldBase || heldInstruct ? { heldoutReference: { ...(heldBase ? { base: heldBase } : {}), ...(heldInstruct ? { instruct: heldInstruct } : {}) } } : {}),
  };
}

/** Reads a full-parameter state: `<name>`, `<name>.exp_avg`, `<name>.exp_avg_sq`, F32 of one shape each. */
async function readFullState(blob: Blob, tensors: ReadonlyMap<string, TensorInfo>, names: readonly string[], bad: (why: string) => never): Promise<FullState> {
  const shapes = new Map<string, readonly number[]>();
  const maps: Record<Kind, Map<string, Float32Array>> = { params: new Map(), m: new Map(), v: new Map() };
  for (const name of names) {
    for (const kind of ['params', 'm', 'v'] as const) {
      const key = name + SUFFIX[kind];
      const info = tensors.get(key);
      if (!info) return bad(`tensor ${key} is missing (a full-parameter state keeps the master and both AdamW moments of every trained tensor)`);
      if (info.dtype !== 'F32') bad(`tensor ${key} is ${info.dtype}, expected F32`);
      const shape = shapes.get(name);
      if (shape && JSON.stringify(shape) !== JSON.stringify(info.shape)) bad(`tensor ${key} has shape ${JSON.stringify(info.shape)}, expected ${JSON.stringify(shape)} (the shape of ${name})`);
      shapes.set(name, info.shape);
      const bytes = await readTensorBytes(blob, info);
      maps[kind].set(name, new Float32Array(bytes.slice().buffer));
    }
  }
  return { shapes, params: maps.params, m: maps.m, v: maps.v };
}
