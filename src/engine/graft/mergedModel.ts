/**
 * The merged Instruct model (Shadow-FT §3.1: W_I' = W_I + s·B·A for every LoRA-targeted weight) as a list of
 * output files whose bytes are produced lazily, part by part: each safetensors file is its header followed by each
 * tensor's bytes, read from the Instruct checkpoint in chunks of ≤ `chunkBytes` (merged row blocks for targeted
 * weights, byte-for-byte copies for every other tensor). Nothing larger than a chunk is held in memory, so a caller
 * can stream the files to disk (CLI) or into a zip (zip.ts). config.json, generation_config.json, tokenizer and
 * licence files are copied unchanged. The Instruct model's own layout is kept: lm_head.weight is written exactly when
 * the Instruct files have it (whatever config.json's tie_word_embeddings says; io/head.ts).
 */
import { openCheckpoint, type ModelFiles, type TensorLocation } from '../../io/checkpoint';
import { isWeightDType } from '../../io/dtype';
import { encodeSafetensorsHeader, safetensorsOrder } from '../../io/safetensors';
import { chunkElements, DEFAULT_CHUNK_BYTES, F32Scratch, readByteChunks, readF32Chunks } from '../analysis/tensorChunks';
import { loraScaling, type LoraAdapter, type LoraModuleWeights } from '../model/loraTypes';
import { AdapterError } from './adapterConfig';
import { mergeLoraRowsToBytes } from './mergeWeight';
import { DEFAULT_MAX_SHARD_SIZE, planShards, shardIndexJson } from './shards';

/** One file of an export: relative path, exact size, and its bytes on demand. */
export interface OutputFile {
  /** Path inside the output folder, e.g. "model-00001-of-00002.safetensors". */
  readonly name: string;
  /** Exact byte length of what {@link OutputFile.parts} yields. */
  readonly size: number;
  /** Yields the file's bytes in order; may be called again (each call re-reads the sources). */
  parts(): AsyncGenerator<Uint8Array<ArrayBuffer>>;
}

/** Progress of producing the merged tensors: tensor bytes yielded so far over all safetensors files. */
export interface MergeProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly tensor: string;
}

/** Options of {@link planMergedModel}. */
export interface MergeOptions {
  /** Max tensor bytes per shard (default 5 GB = 5·10^9, HF's default). */
  maxShardSize?: number;
  /** Max bytes read from the source per step (default 16 MiB). */
  chunkBytes?: number;
  signal?: AbortSignal;
  onProgress?(p: MergeProgress): void;
}

/** The planned export. */
export interface MergedModelPlan {
  /** Weights first (shards, then the index when sharded), then the copied config/tokenizer files. */
  readonly files: readonly OutputFile[];
  /** Tensors written as W + s·B·A (sorted). */
  readonly mergedTensors: readonly string[];
  /** Σ tensor bytes written (= index total_size). */
  readonly totalTensorBytes: number;
  /** s used for every module. */
  readonly scaling: number;
}

/** Non-weight files copied from the Instruct folder when present (the merge and the tuned-Base graft). */
export const COPIED_FILES = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|tokenizer\.model|added_tokens\.json|vocab\.json|merges\.txt|chat_template\.(jinja|json)|(LICEN[CS]E|NOTICE)(\.[a-z]+)?)$/i;

/** A tensor to write: where to read it, and the LoRA weights when it is merged. */
interface Item {
  readonly name: string;
  readonly byteLength: number;
  readonly loc: TensorLocation;
  readonly lora: LoraModuleWeights | null;
}

function textFile(name: string, text: string): OutputFile {
  const bytes = new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
  return { name, size: bytes.byteLength, parts: async function* () { yield bytes; } };
}

/** Checks every adapter module against the Instruct weight it changes. @throws AdapterError naming both shapes. */
function targetOf(path: string, w: LoraModuleWeights, tensors: ReadonlyMap<string, TensorLocation>, model: string): TensorLocation {
  const loc = tensors.get(`${path}.weight`);
  if (!loc) throw new AdapterError(`adapter module ${path}: ${model} has no tensor ${path}.weight (adapter trained for another architecture?)`);
  const s = loc.info.shape;
  if (s.length !== 2 || s[0] !== w.outFeatures || s[1] !== w.inFeatures) {
    throw new AdapterError(`adapter module ${path}: lora_B·lora_A is [${w.outFeatures}, ${w.inFeatures}] but ${model} ${path}.weight is ${JSON.stringify(s)}`);
  }
  if (!isWeightDType(loc.info.dtype)) throw new AdapterError(`${model} ${path}.weight has dtype ${loc.info.dtype}; only F32, BF16 and F16 weights can be merged`);
  return loc;
}

/**
 * Plans the merged Instruct model; only headers and config.json are read here.
 * @param instruct the Instruct model folder (single or sharded safetensors, config.json, tokenizer files).
 * @param adapter LoRA weights trained on the Base (lora_A [R, in], lora_B [out, R]); s = loraScaling(settings).
 * @throws AdapterError when a module has no matching weight or the shapes/dtype do not fit; CheckpointError /
 *   SafetensorsError for a broken folder; Error when config.json is missing or not JSON.
 */
export async function planMergedModel(instruct: ModelFiles, adapter: LoraAdapter, opts: MergeOptions = {}): Promise<MergedModelPlan> {
  const cfgBlob = instruct.files.get('config.json');
  if (!cfgBlob) throw new Error(`${instruct.name}: config.json is missing (needed to save a loadable model)`);
  try {
    JSON.parse(await cfgBlob.text());
  } catch (e) {
    throw new Error(`${instruct.name}/config.json is not valid JSON: ${(e as Error).message}`);
  }
  const ckpt = await openCheckpoint(instruct);
  const loraOf = new Map<string, LoraModuleWeights>();
  for (const [path, w] of adapter.modules) {
    targetOf(path, w, ckpt.tensors, instruct.name);
    loraOf.set(`${path}.weight`, w);
  }
  const fileIdx = new Map(ckpt.fileNames.map((f, k) => [f, k]));
  const locs = [...ckpt.tensors.values()].sort((p, q) => (fileIdx.get(p.fileName) ?? 0) - (fileIdx.get(q.fileName) ?? 0) || p.info.begin - q.info.begin);
  const items: Item[] = [];
  for (const loc of locs) {
    items.push({ name: loc.info.name, byteLength: loc.info.end - loc.info.begin, loc, lora: loraOf.get(loc.info.name) ?? null });
  }
  const scaling = loraScaling(adapter.settings);
  const r = adapter.settings.r;
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const totalTensorBytes = items.reduce((s, t) => s + t.byteLength, 0);
  // Tensor bytes yielded per shard; a shard read again starts from 0, so progress stays within [0, total].
  const doneByShard: number[] = [];
  const tick = (shard: number, tensor: string, n: number): void => {
    doneByShard[shard] = (doneByShard[shard] ?? 0) + n;
    opts.onProgress?.({ bytesDone: doneByShard.reduce((a, b) => a + b, 0), bytesTotal: totalTensorBytes, tensor });
  };

  async function* tensorParts(t: Item, shard: number, scratch: F32Scratch): AsyncGenerator<Uint8Array<ArrayBuffer>> {
    const { info } = t.loc;
    if (!t.lora) {
      for await (const c of readByteChunks(t.loc.file, info.begin, info.end, chunkBytes, `${t.loc.fileName}: ${t.name}`, opts.signal)) {
        tick(shard, t.name, c.byteLength);
        yield c;
      }
      return;
    }
    const lora = t.lora;
    const dtype = info.dtype as 'F32' | 'BF16' | 'F16';
    const rowElems = lora.inFeatures;
    const n = chunkElements(chunkBytes, 4, rowElems);
    // Chunks are decoded into the file's reused buffer and merged in place; only the encoded bytes are fresh.
    for await (const c of readF32Chunks(t.loc, lora.outFeatures * rowElems, n, opts.signal, scratch)) {
      const bytes = mergeLoraRowsToBytes(c.values, c.start / rowElems, lora, r, scaling, dtype, true);
      tick(shard, t.name, bytes.byteLength);
      yield bytes;
    }
  }

  const shards = planShards(items, opts.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE);
  const files: OutputFile[] = shards.map((s, k) => {
    // Within a shard, the reference writer's layout (dtype alignment, then name), as save_pretrained writes it.
    const inFile = safetensorsOrder(s.tensors.map((t) => ({ item: t, name: t.name, dtype: t.loc.info.dtype, shape: t.loc.info.shape, byteLength: t.byteLength })));
    const header = encodeSafetensorsHeader(inFile, { format: 'pt' }, s.fileName) as Uint8Array<ArrayBuffer>;
    const size = header.byteLength + s.tensors.reduce((a, t) => a + t.byteLength, 0);
    return {
      name: s.fileName,
      size,
      parts: async function* () {
        doneByShard[k] = 0;
        yield header;
        const scratch = new F32Scratch(); // one per parts() call: its tensors are produced one after the other
        for (const t of inFile) yield* tensorParts(t.item, k, scratch);
      },
    };
  });
  if (shards.length > 1) files.push(textFile('model.safetensors.index.json', shardIndexJson(shards)));
  for (const [name, blob] of [...instruct.files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (!COPIED_FILES.test(name)) continue;
    files.push({ name, size: blob.size, parts: () => readByteChunks(blob, 0, blob.size, chunkBytes, `${instruct.name}/${name}`, opts.signal) });
  }
  return { files, mergedTensors: [...loraOf.keys()].sort(), totalTensorBytes, scaling };
}

/** Concatenates an OutputFile into a Blob (for tests and small models; large exports should stream parts()). */
export async function outputFileBlob(f: OutputFile): Promise<Blob> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for await (const p of f.parts()) parts.push(p);
  return new Blob(parts);
}

