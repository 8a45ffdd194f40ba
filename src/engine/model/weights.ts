/**
 * Frozen decoder weights on the GPU, loaded row by row from the tensor table (arch/tensors.ts): linear and embedding
 * matrices stay in their file dtype (packed u32 words, unpacked in the kernels); norm weights and biases are small
 * and are upcast exactly to f32 on upload.
 */
import type { ModelConfig } from '../../io/config/types';
import { readTensor, type Checkpoint } from '../../io/checkpoint';
import { decodeToF32, isWeightDType } from '../../io/dtype';
import type { GpuContext } from '../gpu/context';
import { uploadStorage } from '../gpu/buffers';
import { uploadWeight, type PackedWeight } from '../gpu/weights';
import type { TargetModule } from './loraTypes';
import { linearHasBias, linearShape, modulePath, tensorTable, type NormName, type TensorSpec } from '../arch/tensors';

export { linearHasBias, linearShape, modulePath };
import { DEFAULT_VOCAB_CHUNK_ROWS } from './vocabChunks';
import { uploadVocabTable, type VocabTable } from './vocabTable';

/** A linear layer y = x Wᵀ + b: W [out, in] packed, optional f32 bias [out]. */
export interface LinearWeights {
  readonly name: string;
  readonly w: PackedWeight;
  readonly bias: GPUBuffer | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** One decoder layer's frozen weights. */
export interface LayerWeights {
  /** the layer's norm weights (arch/tensors.ts layerNorms), f32 [C] or [D] (q_norm, k_norm) */
  readonly norms: ReadonlyMap<NormName, GPUBuffer>;
  readonly linears: Readonly<Record<TargetModule, LinearWeights>>;
}

/** All frozen weights of a model. */
export interface ModelWeights {
  /** embed_tokens [V, C], one buffer or row chunks (vocabTable.ts) */
  readonly embed: VocabTable;
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: GPUBuffer;
  /** = embed when tie_word_embeddings */
  readonly lmHead: VocabTable;
  /** Total tensor bytes read from the checkpoint (file dtype). */
  readonly bytes: number;
  /** Total bytes of the GPU buffers (norms and biases are f32 on the GPU; sizes padded to 4 bytes). */
  readonly gpuBytes: number;
  destroy(): void;
}

/** Thrown when a checkpoint tensor is missing or its shape/dtype does not match the config. */
export class WeightShapeError extends Error {
  override name = 'WeightShapeError';
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Options of {@link loadModelWeights}. */
export interface LoadWeightsOptions {
  /** Most rows per stored chunk of embed_tokens / lm_head when they exceed the binding limit (default 16384). */
  readonly vocabChunkRows?: number;
}

/**
 * Reads every decoder tensor of `ckpt`, checks its shape against `cfg`, and uploads it. embed_tokens and lm_head are
 * stored as row chunks when larger than the storage binding limit (vocabTable.ts).
 * @throws WeightShapeError naming the tensor, the expected and the actual shape (or the missing tensor);
 *   DeviceLimitError / VocabChunkError when a buffer cannot fit the device limits.
 */
export async function loadModelWeights(ctx: GpuContext, cfg: ModelConfig, ckpt: Checkpoint, onTensor?: (name: string) => void, opts: LoadWeightsOptions = {}): Promise<ModelWeights> {
  const owned: GPUBuffer[] = [];
  let bytes = 0;
  const fetch = async (name: string, shape: number[]) => {
    const loc = ckpt.tensors.get(name);
    if (!loc) throw new WeightShapeError(`${ckpt.modelName}: tensor ${name} is missing (expected shape ${JSON.stringify(shape)})`);
    if (!same(loc.info.shape, shape)) throw new WeightShapeError(`${ckpt.modelName}: tensor ${name} has shape ${JSON.stringify(loc.info.shape)}, expected ${JSON.stringify(shape)} from config.json`);
    if (!isWeightDType(loc.info.dtype)) throw new WeightShapeError(`${ckpt.modelName}: tensor ${name} has dtype ${loc.info.dtype}; expected F32, F16 or BF16`);
    onTensor?.(name);
    bytes += loc.info.end - loc.info.begin;
    return { ...(await readTensor(ckpt, name)), dtype: loc.info.dtype };
  };
  const matrix = async (name: string, shape: [number, number]): Promise<PackedWeight> => {
    const t = await fetch(name, shape);
    const w = uploadWeight(ctx, t.bytes, t.dtype, shape, name);
    owned.push(w.buffer);
    return w;
  };
  const vector = async (name: string, n: number): Promise<GPUBuffer> => {
    const t = await fetch(name, [n]);
    const b = uploadStorage(ctx, decodeToF32(t.bytes, t.dtype), name);
    owned.push(b);
    return b;
  };
  const vocabTable = async (name: string): Promise<VocabTable> => {
    const t = await fetch(name, [cfg.vocabSize, C]);
    const v = uploadVocabTable(ctx, t.bytes, t.dtype, cfg.vocabSize, C, name, opts.vocabChunkRows ?? DEFAULT_VOCAB_CHUNK_ROWS);
    for (const c of v.chunks) owned.push(c.buffer);
    return v;
  };
  const C = cfg.hiddenSize;
  try {
    const table = tensorTable(cfg);
    const embed = await vocabTable('model.embed_tokens.weight');
    const vectors = new Map<string, GPUBuffer>();
    const matrices = new Map<string, PackedWeight>();
    for (const t of table) {
      if (t.role === 'embed' || t.role === 'lm_head') continue;
      if (t.gpuDtype === 'f32') vectors.set(t.name, await vector(t.name, t.shape[0] as number));
      else matrices.set(t.name, await matrix(t.name, t.shape as [number, number]));
    }
    const layers: LayerWeights[] = Array.from({ length: cfg.numLayers }, (_, l) => layerWeights(table, l, vectors, matrices));
    const finalNorm = vectors.get('model.norm.weight') as GPUBuffer;
    const lmHead = cfg.tieWordEmbeddings ? embed : await vocabTable('lm_head.weight');
    return {
      embed,
      layers,
      finalNorm,
      lmHead,
      bytes,
      gpuBytes: owned.reduce((a, b) => a + b.size, 0),
      destroy: () => owned.forEach((b) => b.destroy()),
    };
  } catch (e) {
    // Free what was uploaded before the failure (a real-size model is gigabytes).
    owned.forEach((b) => b.destroy());
    throw e;
  }
}

/** Layer l's weights gathered from the loaded tensors of the table. */
function layerWeights(table: readonly TensorSpec[], l: number, vectors: ReadonlyMap<string, GPUBuffer>, matrices: ReadonlyMap<string, PackedWeight>): LayerWeights {
  const norms = new Map<NormName, GPUBuffer>();
  const linears = {} as Record<TargetModule, LinearWeights>;
  for (const t of table) {
    if (t.layer !== l) continue;
    if (t.role === 'norm' && t.norm) norms.set(t.norm, vectors.get(t.name) as GPUBuffer);
    if (t.role === 'linear' && t.module) {
      const [out, inF] = t.shape as [number, number];
      const path = modulePath(l, t.module);
      linears[t.module] = { name: path, w: matrices.get(t.name) as PackedWeight, bias: vectors.get(`${path}.bias`) ?? null, inFeatures: inF, outFeatures: out };
    }
  }
  return { norms, linears };
}
