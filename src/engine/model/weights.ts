/**
 * Frozen decoder weights on the GPU. Linear and embedding matrices stay in their file dtype (packed u32 words,
 * unpacked in the kernels); norm weights and biases are small and are upcast exactly to f32 on upload.
 * Tensor names follow HF modeling_llama / modeling_qwen2 / modeling_qwen3.
 */
import type { ModelConfig } from '../../io/config/types';
import { readTensor, type Checkpoint } from '../../io/checkpoint';
import { decodeToF32, isWeightDType } from '../../io/dtype';
import type { GpuContext } from '../gpu/context';
import { uploadStorage } from '../gpu/buffers';
import { uploadWeight, type PackedWeight } from '../gpu/weights';
import type { TargetModule } from './loraTypes';
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
  readonly inputNorm: GPUBuffer;
  readonly postAttentionNorm: GPUBuffer;
  /** qwen3 per-head norms, f32 [D] */
  readonly qNorm: GPUBuffer | null;
  readonly kNorm: GPUBuffer | null;
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

/** [out, in] of each decoder linear for a config. */
export function linearShape(cfg: ModelConfig, m: TargetModule): [number, number] {
  const { hiddenSize: C, intermediateSize: I, numHeads: H, numKvHeads: KV, headDim: D } = cfg;
  switch (m) {
    case 'q_proj': return [H * D, C];
    case 'k_proj':
    case 'v_proj': return [KV * D, C];
    case 'o_proj': return [C, H * D];
    case 'gate_proj':
    case 'up_proj': return [I, C];
    case 'down_proj': return [C, I];
  }
}

/** Whether a decoder linear has a bias in checkpoints of `cfg` (qwen2: q/k/v; attention_bias / mlp_bias flags). */
export function linearHasBias(cfg: Pick<ModelConfig, 'qkvBias' | 'oProjBias' | 'mlpBias'>, m: TargetModule): boolean {
  return m === 'o_proj' ? cfg.oProjBias : m === 'q_proj' || m === 'k_proj' || m === 'v_proj' ? cfg.qkvBias : cfg.mlpBias;
}

/** HF module path of a decoder linear, e.g. "model.layers.3.self_attn.q_proj". */
export function modulePath(layer: number, m: TargetModule): string {
  const block = m === 'gate_proj' || m === 'up_proj' || m === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${m}`;
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
  const table = async (name: string): Promise<VocabTable> => {
    const t = await fetch(name, [cfg.vocabSize, C]);
    const v = uploadVocabTable(ctx, t.bytes, t.dtype, cfg.vocabSize, C, name, opts.vocabChunkRows ?? DEFAULT_VOCAB_CHUNK_ROWS);
    for (const c of v.chunks) owned.push(c.buffer);
    return v;
  };
  const C = cfg.hiddenSize;
  try {
    const embed = await table('model.embed_tokens.weight');
    const layers: LayerWeights[] = [];
    for (let l = 0; l < cfg.numLayers; l++) {
      const linears = {} as Record<TargetModule, LinearWeights>;
      for (const m of ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const) {
        const path = modulePath(l, m);
        const [out, inF] = linearShape(cfg, m);
        const hasBias = linearHasBias(cfg, m);
        linears[m] = {
          name: path,
          w: await matrix(`${path}.weight`, [out, inF]),
          bias: hasBias ? await vector(`${path}.bias`, out) : null,
          inFeatures: inF,
          outFeatures: out,
        };
      }
      layers.push({
        inputNorm: await vector(`model.layers.${l}.input_layernorm.weight`, C),
        postAttentionNorm: await vector(`model.layers.${l}.post_attention_layernorm.weight`, C),
        qNorm: cfg.qkNorm ? await vector(`model.layers.${l}.self_attn.q_norm.weight`, cfg.headDim) : null,
        kNorm: cfg.qkNorm ? await vector(`model.layers.${l}.self_attn.k_norm.weight`, cfg.headDim) : null,
        linears,
      });
    }
    const finalNorm = await vector('model.norm.weight', C);
    const lmHead = cfg.tieWordEmbeddings ? embed : await table('lm_head.weight');
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
