/**
 * Zip archives of the exports, one per download, built as a stream.
 * We use `client-zip` (Touffy/client-zip, MIT): it streams (files are pulled one part at a time, the archive is
 * never held whole), writes Zip64 when needed (merged models exceed 4 GiB), has no dependencies and is a few kB;
 * it stores files uncompressed, which is right for safetensors (float bytes barely compress) and fast.
 * Both functions return a `Response` whose `body` is the archive's ReadableStream<Uint8Array>, with Content-Length
 * set from the known file sizes (client-zip `predictLength`). Nothing is read until the body is consumed: pipe
 * `response.body` to a file/download stream for large models; `await response.blob()` is fine for small ones.
 */
import { downloadZip } from 'client-zip';
import type { LoraAdapter } from '../model/loraTypes';
import type { AdapterCardInfo } from './adapterCard';
import { ADAPTER_FILE_NAMES, buildAdapterFiles } from './adapterFiles';
import type { MergedModelPlan, OutputFile } from './mergedModel';

/** Options shared by the zip builders. */
export interface ZipOptions {
  /** Folder inside the archive (e.g. "my-model-shadowft"); files go to the root when absent or empty. */
  folder?: string;
  /** Modification time stored for every entry (default: now). */
  lastModified?: Date;
}

const entryName = (folder: string | undefined, name: string): string => (folder ? `${folder.replace(/\/+$/, '')}/${name}` : name);

/** Zips lazily produced files (each {@link OutputFile.parts} is consumed once, in order). */
export function zipOutputFiles(files: readonly OutputFile[], opts: ZipOptions = {}): Response {
  const lastModified = opts.lastModified ?? new Date();
  const meta = files.map((f) => ({ name: entryName(opts.folder, f.name), size: f.size, lastModified }));
  const entries = files.map((f, i) => ({ ...(meta[i] as (typeof meta)[number]), input: f.parts() }));
  return downloadZip(entries, { metadata: meta, buffersAreUTF8: true });
}

/**
 * The PEFT adapter as a zip: adapter_config.json + adapter_model.safetensors + README.md (see adapterFiles.ts).
 * @param opts.baseModelNameOrPath written as base_model_name_or_path (the Instruct model).
 * @param opts.card what the model card says about the run.
 * @returns a Response streaming the archive (Content-Length set). @throws AdapterError as buildAdapterFiles.
 */
export function adapterZip(adapter: LoraAdapter, opts: ZipOptions & { baseModelNameOrPath: string; card?: Omit<AdapterCardInfo, 'baseModelNameOrPath'> }): Response {
  const files = buildAdapterFiles(adapter, { baseModelNameOrPath: opts.baseModelNameOrPath, ...(opts.card ? { card: opts.card } : {}) });
  const lastModified = opts.lastModified ?? new Date();
  const enc = new TextEncoder();
  const entries = ADAPTER_FILE_NAMES.map((name) => {
    const f = files[name];
    const input = typeof f === 'string' ? enc.encode(f) : f;
    return { name: entryName(opts.folder, name), input, size: typeof f === 'string' ? (input as Uint8Array).byteLength : f.size, lastModified };
  });
  return downloadZip(entries, { metadata: entries, buffersAreUTF8: true });
}

/**
 * The merged Instruct model as a zip (safetensors shard(s), index when sharded, config and tokenizer files).
 * Tensors are computed while the archive streams; plan with planMergedModel (its onProgress/signal apply).
 * @returns a Response streaming the archive (Content-Length set).
 */
export function mergedModelZip(plan: MergedModelPlan, opts: ZipOptions = {}): Response {
  return zipOutputFiles(plan.files, opts);
}
