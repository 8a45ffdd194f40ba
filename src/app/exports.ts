/**
 * Exports of a trained adapter, run in the engine worker: the PEFT adapter zip, the merged Instruct model zip
 * (src/engine/graft), and streaming both to a user-chosen directory (File System Access API, Chromium).
 * Zip entries sit in one folder named after the Instruct model, e.g. "stories260K-instruct-shadowft-lora/".
 */
import type { ModelFiles } from '../io/checkpoint';
import { ADAPTER_FILE_NAMES, buildAdapterFiles, readAdapterFiles } from '../engine/graft/adapterFiles';
import { adapterBaseModel } from '../engine/graft/adapterBaseModel';
import type { TrainSettings } from '../engine/train/types';
import { checkAdapterFilesAgainstModel } from '../engine/graft/adapterKeys';
import type { Checkpoint } from '../io/checkpoint';
import { planMergedModel, type OutputFile } from '../engine/graft/mergedModel';
import { safeFileName } from '../engine/graft/fileName';
import { adapterZip, mergedModelZip } from '../engine/graft/zip';
import type { LoraAdapter } from '../engine/model/loraTypes';
import type { ExportProgress } from './progress';

export type { ExportProgress } from './progress';

/** The adapter of the last run and the models it belongs to. */
export interface TrainedAdapter {
  readonly adapter: LoraAdapter;
  readonly baseModel: string;
  /** Names the exports; written as base_model_name_or_path unless {@link TrainedAdapter.baseModelNameOrPath} is set. */
  readonly instructModel: string;
  /** base_model_name_or_path of the exported adapter (a Hub id or path of the Instruct; see withBaseModel). */
  readonly baseModelNameOrPath?: string;
  /** The run's settings and steps done, for the adapter's model card (absent for a restored adapter). */
  readonly settings?: TrainSettings;
  readonly steps?: number;
}

/** base_model_name_or_path and model card of an adapter's export. */
function adapterFileOptions(t: TrainedAdapter): Parameters<typeof buildAdapterFiles>[1] {
  return {
    baseModelNameOrPath: t.baseModelNameOrPath ?? t.instructModel,
    card: { trainedOn: t.baseModel, ...(t.settings ? { training: t.settings } : {}), ...(t.steps !== undefined ? { steps: t.steps } : {}) },
  };
}

/**
 * `t` with base_model_name_or_path resolved (engine/graft/adapterBaseModel.ts): `given` when not blank, else the Hub
 * id in the Instruct's config.json `_name_or_path` (when `instruct` is the adapter's Instruct), else the folder name.
 */
export async function withBaseModel(t: TrainedAdapter, instruct: ModelFiles | null, given?: string): Promise<TrainedAdapter> {
  const files = instruct && instruct.name === t.instructModel ? instruct : { name: t.instructModel, files: new Map<string, Blob>() };
  return { ...t, baseModelNameOrPath: (await adapterBaseModel(files, given !== undefined ? { given } : {})).value };
}


/** A finished download: the archive and the file name to save it under. */
export interface ExportedZip {
  readonly fileName: string;
  readonly blob: Blob;
}

/** Folder (and zip) name of the adapter export (model name sanitised: engine/graft/fileName.ts). */
export const adapterFolderName = (t: TrainedAdapter): string => safeFileName(`${t.instructModel}-shadowft-lora`);
/** Folder (and zip) name of the merged-model export (model name sanitised). */
export const mergedFolderName = (t: TrainedAdapter): string => safeFileName(`${t.instructModel}-shadowft-merged`);

/**
 * The PEFT adapter (adapter_config.json + adapter_model.safetensors, lora_A [R, in] / lora_B [out, R] f32, and the
 * README.md model card) as a zip.
 * @param folder folder (and zip) name; default {@link adapterFolderName}
 */
export async function exportAdapterZip(t: TrainedAdapter, folder = adapterFolderName(t)): Promise<ExportedZip> {
  const blob = await adapterZip(t.adapter, { ...adapterFileOptions(t), folder }).blob();
  return { fileName: `${folder}.zip`, blob };
}

/**
 * The merged Instruct model W_I + s·B·A (Shadow-FT §3.1) with config and tokenizer files, as a zip.
 * @param instruct the Instruct model folder the adapter was trained for (shapes are checked by planMergedModel).
 * @throws AdapterError when the adapter does not fit the Instruct weights; the signal's reason when aborted.
 */
export async function exportMergedZip(t: TrainedAdapter, instruct: ModelFiles, onProgress: (p: ExportProgress) => void, signal: AbortSignal): Promise<ExportedZip> {
  const folder = mergedFolderName(t);
  const plan = await planMergedModel(instruct, t.adapter, {
    signal,
    onProgress: (p) => onProgress({ status: 'export', file: p.tensor, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }),
  });
  const blob = await mergedModelZip(plan, { folder }).blob();
  signal.throwIfAborted();
  return { fileName: `${folder}.zip`, blob };
}

/** The merged model of an adapter loaded from files, with the warnings of its key check. */
export interface LoadedAdapterMerge extends ExportedZip {
  readonly warnings: readonly string[];
  /** Weights changed (W + s·B·A). */
  readonly mergedTensors: number;
}

/**
 * Merges a PEFT adapter trained elsewhere (adapter_config.json + adapter_model.safetensors) onto the loaded Instruct
 * model: keys checked against the Instruct tensors first (engine/graft/adapterKeys.ts), then W_I + s·B·A as for a
 * trained adapter, zipped in a folder named `<Instruct>-<adapter>-merged` (sanitised).
 * @throws AdapterError ("0 of N matched" with the nearest key, a foreign adapter name, bad config or shapes);
 *   SafetensorsError for a malformed file; the signal's reason when aborted.
 */
export async function mergeLoadedAdapterZip(adapterFiles: ModelFiles, instruct: ModelFiles, instructCkpt: Checkpoint, onProgress: (p: ExportProgress) => void, signal: AbortSignal): Promise<LoadedAdapterMerge> {
  const keys = await checkAdapterFilesAgainstModel(adapterFiles, instructCkpt);
  const adapter = await readAdapterFiles(adapterFiles);
  const folder = safeFileName(`${instruct.name}-${adapterFiles.name}-merged`);
  const plan = await planMergedModel(instruct, adapter, {
    signal,
    onProgress: (p) => onProgress({ status: 'export', file: p.tensor, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }),
  });
  const blob = await mergedModelZip(plan, { folder }).blob();
  signal.throwIfAborted();
  return { fileName: `${folder}.zip`, blob, warnings: keys.warnings, mergedTensors: plan.mergedTensors.length };
}

/** Writes one file into `dir`, part by part (never holding the whole file). */
async function writeFile(dir: FileSystemDirectoryHandle, f: OutputFile, onProgress: (p: ExportProgress) => void, signal: AbortSignal): Promise<void> {
  const handle = await dir.getFileHandle(f.name, { create: true });
  const out = await handle.createWritable();
  let done = 0;
  try {
    for await (const part of f.parts()) {
      signal.throwIfAborted();
      await out.write(part);
      done += part.byteLength;
      onProgress({ status: 'export', file: f.name, bytesDone: done, bytesTotal: f.size });
    }
    await out.close();
  } catch (e) {
    await out.abort();
    throw e;
  }
}

/** Wraps a Blob or text as an {@link OutputFile}. */
function blobFile(name: string, blob: Blob): OutputFile {
  return {
    name,
    size: blob.size,
    parts: async function* () {
      yield new Uint8Array(await blob.arrayBuffer());
    },
  };
}

/**
 * Writes the adapter folder and, when the Instruct files are given, the merged-model folder into `root`.
 * @returns the names of the folders written.
 * @throws DOMException when the browser refuses a write; the signal's reason when aborted.
 */
export async function saveExportsToFolder(t: TrainedAdapter, instruct: ModelFiles | null, root: FileSystemDirectoryHandle, onProgress: (p: ExportProgress) => void, signal: AbortSignal): Promise<string[]> {
  const written: string[] = [];
  const adapterDir = await root.getDirectoryHandle(adapterFolderName(t), { create: true });
  const files = buildAdapterFiles(t.adapter, adapterFileOptions(t));
  for (const name of ADAPTER_FILE_NAMES) await writeFile(adapterDir, blobFile(name, new Blob([files[name]])), onProgress, signal);
  written.push(adapterFolderName(t));
  if (instruct) {
    const plan = await planMergedModel(instruct, t.adapter, { signal });
    const mergedDir = await root.getDirectoryHandle(mergedFolderName(t), { create: true });
    for (const f of plan.files) await writeFile(mergedDir, f, onProgress, signal);
    written.push(mergedFolderName(t));
  }
  return written;
}
