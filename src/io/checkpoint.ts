/**
 * A model folder's files and its (single or sharded) safetensors checkpoint, opened lazily.
 * Sharded layout (HF): `model.safetensors.index.json` = {"metadata": {"total_size": n}, "weight_map": {tensor: shard file}}.
 * Only headers are read here; tensor bytes are read on demand with Blob.slice.
 */
import { readSafetensorsHeader, readTensorBytes, SafetensorsError, type TensorInfo } from './safetensors';

/** The files of one model folder: folder name and relative path (e.g. "config.json") → Blob/File. */
export interface ModelFiles {
  /** Folder name as dropped (e.g. "stories260K-base"), used as the model's display name. */
  readonly name: string;
  /** Relative paths inside the folder (forward slashes, no leading folder) → file contents. */
  readonly files: ReadonlyMap<string, Blob>;
}

/** Where one tensor lives: its shard's Blob plus the header entry. */
export interface TensorLocation {
  readonly file: Blob;
  readonly fileName: string;
  readonly info: TensorInfo;
}

/** An opened checkpoint: every tensor name → location, in the order of the files/headers. */
export interface Checkpoint {
  readonly modelName: string;
  readonly tensors: ReadonlyMap<string, TensorLocation>;
  /** Safetensors file names in order (one, or the shards). */
  readonly fileNames: readonly string[];
  /** Sum of tensor data bytes over all files. */
  readonly totalBytes: number;
}

/** Thrown when a model folder is incomplete or inconsistent; names the folder and the file. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/**
 * Opens the checkpoint of a model folder: `model.safetensors.index.json` + shards when present,
 * else `model.safetensors`, else the single `*.safetensors` file.
 * @throws CheckpointError when no safetensors file exists, a shard named in the index is missing,
 *   or a tensor of the weight_map is not in its shard; SafetensorsError for malformed files.
 */
export async function openCheckpoint(model: ModelFiles): Promise<Checkpoint> {
  const tensors = new Map<string, TensorLocation>();
  const indexBlob = model.files.get('model.safetensors.index.json');
  let fileNames: string[];
  let weightMap: Record<string, string> | undefined;
  if (indexBlob) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(await indexBlob.text()) as typeof index;
    } catch (e) {
      throw new CheckpointError(`${model.name}/model.safetensors.index.json is not valid JSON: ${(e as Error).message}`);
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new CheckpointError(`${model.name}/model.safetensors.index.json has no weight_map`);
    weightMap = index.weight_map;
    fileNames = [...new Set(Object.values(weightMap))].sort();
  } else if (model.files.has('model.safetensors')) {
    fileNames = ['model.safetensors'];
  } else {
    const st = [...model.files.keys()].filter((k) => k.endsWith('.safetensors') && !k.includes('/') && !k.startsWith('adapter_'));
    if (st.length !== 1) throw new CheckpointError(`${model.name}: expected model.safetensors or model.safetensors.index.json + shards, found ${st.length ? st.join(', ') : 'no .safetensors file'}`);
    fileNames = st;
  }
  let totalBytes = 0;
  for (const fileName of fileNames) {
    const file = model.files.get(fileName);
    if (!file) throw new CheckpointError(`${model.name}: shard ${fileName} named in model.safetensors.index.json is missing from the folder`);
    const header = await readSafetensorsHeader(file, `${model.name}/${fileName}`);
    for (const info of header.tensors.values()) {
      if (tensors.has(info.name)) throw new SafetensorsError(`${model.name}/${fileName}`, 'duplicate-name', `also appears in ${tensors.get(info.name)?.fileName}; tensor names must be unique across shards`, info.name);
      tensors.set(info.name, { file, fileName, info });
      totalBytes += info.end - info.begin;
    }
  }
  if (weightMap) {
    for (const [name, shard] of Object.entries(weightMap)) {
      const loc = tensors.get(name);
      if (!loc) throw new CheckpointError(`${model.name}: tensor ${name} is listed for ${shard} in model.safetensors.index.json but is not in any shard`);
      if (loc.fileName !== shard) throw new CheckpointError(`${model.name}: tensor ${name} is listed for ${shard} but found in ${loc.fileName}`);
    }
  }
  return { modelName: model.name, tensors, fileNames, totalBytes };
}

/** Reads one tensor's raw bytes (file dtype). @throws CheckpointError when the tensor is absent. */
export async function readTensor(ckpt: Checkpoint, name: string): Promise<{ info: TensorInfo; bytes: Uint8Array }> {
  const loc = ckpt.tensors.get(name);
  if (!loc) throw new CheckpointError(`${ckpt.modelName}: tensor ${name} not found`);
  return { info: loc.info, bytes: await readTensorBytes(loc.file, loc.info) };
}
