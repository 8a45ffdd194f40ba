/**
 * The tuned Base of a full-parameter run (W_B′) as a Hugging Face model folder: every tensor of the table in F32
 * (the trainer's f32 masters, no rounding: W_B′ − W_B stays the exact update, which the graft of graftTuned.ts then
 * adds to the Instruct with one rounding to its dtype; tunedChecks.ts accepts F32 for any Base dtype, as for
 * LLaMA-Factory's full-tuning output), sharded as HF `save_pretrained` (shards.ts), with the Base's config,
 * tokenizer and template files copied. Tensors are produced one at a time through `read` (e.g. from the GPU), so a
 * real-size model is never held in CPU memory at once. Users can check it, or hand it to mergekit.
 */
import type { ModelFiles } from '../../io/checkpoint';
import { encodeSafetensorsHeader, safetensorsOrder } from '../../io/safetensors';
import { readByteChunks, DEFAULT_CHUNK_BYTES } from '../analysis/tensorChunks';
import { COPIED_FILES, type OutputFile } from './mergedModel';
import { DEFAULT_MAX_SHARD_SIZE, planShards, shardIndexJson } from './shards';

/** One tensor of the tuned Base: HF name, shape, and how to get its f32 values. */
export interface TunedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** f32 values, numel(shape) of them (called once per parts() call of the file that holds it) */
  read(): Promise<Float32Array>;
}

/** Options of {@link tunedBaseFiles}. */
export interface TunedBaseOptions {
  /** Max tensor bytes per shard (default 5 GB, HF's). */
  readonly maxShardSize?: number;
  readonly signal?: AbortSignal;
}

/**
 * The output files of the tuned Base: F32 safetensors shards (tensors in the reference writer's order) + index when
 * sharded, then the copied files of `base` (config.json, tokenizer, template).
 * @throws Error naming the tensor (when its file is produced) when read() returns another number of values.
 */
export function tunedBaseFiles(base: ModelFiles, tensors: readonly TunedTensor[], opts: TunedBaseOptions = {}): OutputFile[] {
  const sized = safetensorsOrder(tensors.map((t) => ({ ...t, dtype: 'F32' as const, byteLength: t.shape.reduce((a, b) => a * b, 1) * 4 })));
  const shards = planShards(sized, opts.maxShardSize ?? DEFAULT_MAX_SHARD_SIZE);
  const files: OutputFile[] = shards.map((s) => {
    const header = encodeSafetensorsHeader(s.tensors.map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, byteLength: t.byteLength })), { format: 'pt' }) as Uint8Array<ArrayBuffer>;
    return {
      name: s.fileName,
      size: header.byteLength + s.tensors.reduce((a, t) => a + t.byteLength, 0),
      parts: async function* () {
        yield header;
        for (const t of safetensorsOrder(s.tensors)) {
          opts.signal?.throwIfAborted();
          const v = await t.read();
          if (v.byteLength !== t.byteLength) throw new Error(`tuned Base: ${t.name} has ${v.length} values, expected ${t.byteLength / 4} (shape ${JSON.stringify(t.shape)})`);
          yield new Uint8Array(Float32Array.from(v).buffer); // a copy: the caller may reuse v
        }
      },
    };
  });
  if (shards.length > 1) {
    const bytes = new TextEncoder().encode(shardIndexJson(shards)) as Uint8Array<ArrayBuffer>;
    files.push({ name: 'model.safetensors.index.json', size: bytes.byteLength, parts: async function* () { yield bytes; } });
  }
  for (const [name, blob] of [...base.files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (!COPIED_FILES.test(name)) continue;
    files.push({ name, size: blob.size, parts: () => readByteChunks(blob, 0, blob.size, DEFAULT_CHUNK_BYTES, `${base.name}/${name}`, opts.signal) });
  }
  return files;
}

/** Collects an output file's bytes into one Blob (tests, small models, the in-page check). */
export async function outputFileBlob(f: OutputFile): Promise<Blob> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for await (const p of f.parts()) parts.push(p);
  return new Blob(parts);
}

/** The output files as a ModelFiles folder in memory (to open with openCheckpoint or graft again). */
export async function outputFolder(name: string, files: readonly OutputFile[]): Promise<ModelFiles> {
  const m = new Map<string, Blob>();
  for (const f of files) m.set(f.name, await outputFileBlob(f));
  return { name, files: m };
}
