/**
 * Full-parameter training state (LLaMA-Factory finetuning_type "full"): every tensor of the table (arch/tensors.ts)
 * as an f32 master copy of its stored BF16/F16/F32 values (exact upcast), with an f32 gradient and the two AdamW
 * moments of the same shape — 16 bytes per trainable parameter. The forward and backward run on the masters: the
 * weights view ({@link FullParams.weights}) is a ModelWeights whose linears are PackedWeights of dtype 'F32', so the
 * LoRA-path kernels run unchanged. A tied embedding is ONE tensor (its gradient sums the lookup and the lm_head use).
 * embed_tokens / lm_head are stored as row chunks when larger than one storage binding (as model/vocabTable.ts does
 * for the frozen table); their gradients and moments use the same chunks. With trainEmbeddings false, embed_tokens
 * (and a tied lm_head) stays frozen in its file dtype: no master, gradient or moments (saves 14 bytes per embedding
 * parameter with a 16-bit checkpoint).
 */
import type { ModelConfig } from '../../io/config/types';
import { readTensor, type Checkpoint } from '../../io/checkpoint';
import { decodeToF32, isWeightDType, type WeightDType } from '../../io/dtype';
import type { GpuContext } from '../gpu/context';
import { createStorage, readBytes, readF32, writeBytes } from '../gpu/buffers';
import { packedBytes } from '../gpu/weights';
import { tensorTable, type NormName, type TensorSpec } from '../arch/tensors';
import type { TargetModule } from './loraTypes';
import { DEFAULT_VOCAB_CHUNK_ROWS, splitRows, tableChunkRows } from './vocabChunks';
import { uploadVocabTable, type VocabTable } from './vocabTable';
import { WeightShapeError, type LayerWeights, type LinearWeights, type ModelWeights } from './weights';

/** Which of a chunk's four buffers. */
export type FullBufferKind = 'params' | 'grads' | 'm' | 'v';

/** Rows [row0, row0 + rows) of a tensor (the whole tensor unless it is a split vocabulary table), f32 each. */
export interface FullChunk {
  readonly row0: number;
  readonly rows: number;
  readonly numel: number;
  readonly params: GPUBuffer;
  /** null when the tensor is frozen */
  readonly grads: GPUBuffer | null;
  readonly m: GPUBuffer | null;
  readonly v: GPUBuffer | null;
}

/** One tensor of the table with its buffers. */
export interface FullTensor {
  readonly spec: TensorSpec;
  /** dtype in the checkpoint (the masters are f32; a frozen embedding stays in this dtype) */
  readonly fileDtype: WeightDType;
  readonly trainable: boolean;
  readonly chunks: readonly FullChunk[];
}

/** The weight gradients of one decoder layer, f32, shaped as the weights. */
export interface LayerWeightGrads {
  readonly linears: Readonly<Record<TargetModule, { readonly dW: GPUBuffer; readonly db: GPUBuffer | null }>>;
  readonly norms: ReadonlyMap<NormName, GPUBuffer>;
}

/** Every weight gradient the backward writes (null: frozen). */
export interface WeightGrads {
  readonly layers: readonly LayerWeightGrads[];
  readonly finalNorm: GPUBuffer;
  /** f32 [V, C] in the chunks of weights.embed; null when the embedding is frozen */
  readonly embed: VocabTable | null;
  /** = embed when tied; null when frozen */
  readonly lmHead: VocabTable | null;
}

/** Options of {@link createFullParams}. */
export interface FullSettings {
  /** false: embed_tokens and a tied lm_head stay frozen in their file dtype (default true) */
  readonly trainEmbeddings?: boolean;
  /** most rows per stored chunk of a vocabulary table that exceeds one binding (default 16384) */
  readonly vocabChunkRows?: number;
  /** most tokens of a micro-batch (sizes the embedding-gradient index; default 4096) */
  readonly maxTokens?: number;
}

/** Full-parameter training state on the GPU. */
export interface FullParams {
  readonly trainEmbeddings: boolean;
  /** every tensor of the table, in table order (a tied lm_head has no row) */
  readonly tensors: readonly FullTensor[];
  /** the forward/backward view over the masters (linears F32) */
  readonly weights: ModelWeights;
  readonly grads: WeightGrads;
  /** u32 scratch [3·maxTokens + 1] for the embedding gradient's position index (kernels/embeddingGrad.ts) */
  readonly embedIndex: GPUBuffer;
  readonly maxTokens: number;
  /** trainable parameters */
  readonly trainableParams: number;
  /** bytes allocated (masters, gradients, moments, frozen tables, index) */
  readonly bytes: number;
  destroy(): void;
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Reads every tensor of the table from `ckpt`, checks its shape, and uploads f32 masters with zero gradients and
 * moments (frozen embedding: the file-dtype table only).
 * @throws WeightShapeError naming the tensor and the expected and actual shape or dtype; DeviceLimitError when a
 *   non-vocabulary tensor exceeds one storage binding (names the buffer, the needed and the actual limit).
 */
export async function createFullParams(ctx: GpuContext, cfg: ModelConfig, ckpt: Checkpoint, settings: FullSettings = {}, onTensor?: (name: string) => void): Promise<FullParams> {
  const trainEmbeddings = settings.trainEmbeddings ?? true;
  const maxTokens = settings.maxTokens ?? 4096;
  const owned: GPUBuffer[] = [];
  const make = (bytes: number, label: string) => {
    const b = createStorage(ctx, bytes, label);
    owned.push(b);
    return b;
  };
  const C = cfg.hiddenSize;
  try {
    const tensors: FullTensor[] = [];
    for (const spec of tensorTable(cfg)) {
      const loc = ckpt.tensors.get(spec.name);
      if (!loc) throw new WeightShapeError(`${ckpt.modelName}: tensor ${spec.name} is missing (expected shape ${JSON.stringify(spec.shape)})`);
      if (!same(loc.info.shape, spec.shape)) throw new WeightShapeError(`${ckpt.modelName}: tensor ${spec.name} has shape ${JSON.stringify(loc.info.shape)}, expected ${JSON.stringify(spec.shape)} from config.json`);
      if (!isWeightDType(loc.info.dtype)) throw new WeightShapeError(`${ckpt.modelName}: tensor ${spec.name} has dtype ${loc.info.dtype}; expected F32, F16 or BF16`);
      onTensor?.(spec.name);
      const { bytes } = await readTensor(ckpt, spec.name);
      const fileDtype = loc.info.dtype;
      const vocab = spec.role === 'embed' || spec.role === 'lm_head';
      const trainable = !(spec.role === 'embed' && !trainEmbeddings) && !(spec.role === 'lm_head' && !trainEmbeddings && cfg.tieWordEmbeddings);
      if (!trainable) {
        const t = uploadVocabTable(ctx, bytes, fileDtype, cfg.vocabSize, C, spec.name, settings.vocabChunkRows ?? DEFAULT_VOCAB_CHUNK_ROWS);
        for (const c of t.chunks) owned.push(c.buffer);
        tensors.push({ spec, fileDtype, trainable, chunks: t.chunks.map((c) => ({ row0: c.row0, rows: c.rows, numel: c.rows * C, params: c.buffer, grads: null, m: null, v: null })) });
        continue;
      }
      const values = decodeToF32(bytes, fileDtype);
      const cols = spec.shape.length === 2 ? (spec.shape[1] as number) : values.length;
      const rowsAll = spec.shape.length === 2 ? (spec.shape[0] as number) : 1;
      const ranges = vocab ? splitRows(rowsAll, tableChunkRows(rowsAll, cols, 4, ctx.limits, settings.vocabChunkRows ?? DEFAULT_VOCAB_CHUNK_ROWS)) : [{ row0: 0, rows: rowsAll }];
      const chunks: FullChunk[] = ranges.map((r) => {
        const tag = ranges.length === 1 ? spec.name : `${spec.name}[${r.row0}:${r.row0 + r.rows}]`;
        const numel = r.rows * cols;
        const params = make(numel * 4, `full.${tag}`);
        writeBytes(ctx, params, 0, values.subarray(r.row0 * cols, r.row0 * cols + numel));
        return { row0: r.row0, rows: r.rows, numel, params, grads: make(numel * 4, `full.grad.${tag}`), m: make(numel * 4, `full.adam_m.${tag}`), v: make(numel * 4, `full.adam_v.${tag}`) };
      });
      tensors.push({ spec, fileDtype, trainable, chunks });
    }
    const embedIndex = make((3 * maxTokens + 1) * 4, 'full.embed_grad_index');
    const view = weightsView(cfg, tensors, owned);
    return {
      trainEmbeddings,
      tensors,
      weights: view.weights,
      grads: view.grads,
      embedIndex,
      maxTokens,
      trainableParams: tensors.filter((t) => t.trainable).reduce((a, t) => a + t.chunks.reduce((b, c) => b + c.numel, 0), 0),
      bytes: owned.reduce((a, b) => a + b.size, 0),
      destroy: () => owned.forEach((b) => b.destroy()),
    };
  } catch (e) {
    owned.forEach((b) => b.destroy());
    throw e;
  }
}

/** A vocabulary tensor's chunks of one kind as a VocabTable (f32, or the file dtype of a frozen table). */
function table(t: FullTensor, kind: 'params' | 'grads', V: number, C: number): VocabTable {
  const dtype: WeightDType = t.trainable ? 'F32' : t.fileDtype;
  const chunks = t.chunks.map((c) => ({ buffer: c[kind] as GPUBuffer, row0: c.row0, rows: c.rows }));
  return { label: kind === 'params' ? t.spec.name : `${t.spec.name}.grad`, dtype, rows: V, cols: C, chunks, bytes: chunks.reduce((a, c) => a + c.buffer.size, 0) };
}

/** The ModelWeights view over the masters and the matching WeightGrads. */
function weightsView(cfg: ModelConfig, tensors: readonly FullTensor[], owned: readonly GPUBuffer[]): { weights: ModelWeights; grads: WeightGrads } {
  const by = new Map(tensors.map((t) => [t.spec.name, t]));
  const one = (name: string, kind: FullBufferKind): GPUBuffer => {
    const b = by.get(name)?.chunks[0]?.[kind];
    if (!b) throw new Error(`full parameters: no ${kind} buffer for ${name}`);
    return b;
  };
  const V = cfg.vocabSize;
  const C = cfg.hiddenSize;
  const embedT = by.get('model.embed_tokens.weight') as FullTensor;
  const headT = cfg.tieWordEmbeddings ? embedT : (by.get('lm_head.weight') as FullTensor);
  const layers: LayerWeights[] = [];
  const gradLayers: LayerWeightGrads[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    const norms = new Map<NormName, GPUBuffer>();
    const dNorms = new Map<NormName, GPUBuffer>();
    const linears = {} as Record<TargetModule, LinearWeights>;
    const dLinears = {} as Record<TargetModule, { dW: GPUBuffer; db: GPUBuffer | null }>;
    for (const t of tensors) {
      const s = t.spec;
      if (s.layer !== l) continue;
      if (s.role === 'norm' && s.norm) {
        norms.set(s.norm, one(s.name, 'params'));
        dNorms.set(s.norm, one(s.name, 'grads'));
      }
      if (s.role === 'linear' && s.module) {
        const [out, inF] = s.shape as [number, number];
        const path = s.name.slice(0, -'.weight'.length);
        const bias = by.get(`${path}.bias`);
        linears[s.module] = { name: path, w: { buffer: one(s.name, 'params'), dtype: 'F32', shape: s.shape, label: s.name }, bias: bias ? one(bias.spec.name, 'params') : null, inFeatures: inF, outFeatures: out };
        dLinears[s.module] = { dW: one(s.name, 'grads'), db: bias ? one(bias.spec.name, 'grads') : null };
      }
    }
    layers.push({ norms, linears });
    gradLayers.push({ norms: dNorms, linears: dLinears });
  }
  const embed = table(embedT, 'params', V, C);
  const lmHead = headT === embedT ? embed : table(headT, 'params', V, C);
  const dEmbed = embedT.trainable ? table(embedT, 'grads', V, C) : null;
  const dHead = headT === embedT ? dEmbed : headT.trainable ? table(headT, 'grads', V, C) : null;
  const weights: ModelWeights = {
    embed,
    layers,
    finalNorm: one('model.norm.weight', 'params'),
    lmHead,
    bytes: tensors.reduce((a, t) => a + t.chunks.reduce((b, c) => b + c.numel * 4, 0), 0),
    get gpuBytes() {
      return owned.reduce((a, b) => a + b.size, 0);
    },
    destroy: () => undefined, // owned by FullParams.destroy
  };
  return { weights, grads: { layers: gradLayers, finalNorm: one('model.norm.weight', 'grads'), embed: dEmbed, lmHead: dHead } };
}

/** Clears every gradient buffer (start of an optimizer step). */
export function zeroFullGrads(enc: GPUCommandEncoder, p: FullParams): void {
  for (const t of p.tensors) for (const c of t.chunks) if (c.grads) enc.clearBuffer(c.grads);
}

/**
 * Reads one kind of buffer of every trainable tensor (frozen ones too for 'params', decoded to f32) back to the CPU,
 * keyed by HF name, chunks joined.
 */
export async function readFullTensors(ctx: GpuContext, p: FullParams, kind: FullBufferKind): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const t of p.tensors) {
    if (!t.trainable) {
      if (kind === 'params') {
        const bytes = (c: FullChunk) => packedBytes(t.fileDtype, c.numel);
        out.set(t.spec.name, join(await Promise.all(t.chunks.map(async (c) => decodeToF32(new Uint8Array(await readBytes(ctx, c.params, 0, Math.ceil(bytes(c) / 4) * 4)).subarray(0, bytes(c)), t.fileDtype)))));
      }
      continue;
    }
    out.set(t.spec.name, join(await Promise.all(t.chunks.map((c) => readF32(ctx, c[kind] as GPUBuffer, 0, c.numel)))));
  }
  return out;
}

function join(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0] as Float32Array;
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Writes f32 values into one kind of buffer of every trainable tensor (a resumed run's masters and moments).
 * @throws Error naming the tensor when it is missing or its length differs from the table's shape.
 */
export function writeFullTensors(ctx: GpuContext, p: FullParams, kind: FullBufferKind, values: ReadonlyMap<string, Float32Array>): void {
  for (const t of p.tensors) {
    if (!t.trainable) continue;
    const v = values.get(t.spec.name);
    const n = t.chunks.reduce((a, c) => a + c.numel, 0);
    if (!v) throw new Error(`full ${kind}: no values for ${t.spec.name}`);
    if (v.length !== n) throw new Error(`full ${kind}: ${t.spec.name} has ${v.length} values, expected ${n} (shape ${JSON.stringify(t.spec.shape)})`);
    const cols = n / (t.spec.shape.length === 2 ? (t.spec.shape[0] as number) : 1);
    for (const c of t.chunks) writeBytes(ctx, c[kind] as GPUBuffer, 0, v.subarray(c.row0 * cols, c.row0 * cols + c.numel));
  }
}
