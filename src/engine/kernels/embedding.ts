/**
 * Embedding lookup wrapper: out[m, :] = E[input_ids[m], :]·scale with E a frozen packed weight (HF `embed_tokens`;
 * scale = sqrt(hidden_size) for HF Gemma3TextScaledWordEmbedding, 1 otherwise).
 * Shader: shaders/embedding.wgsl. The backward (full-parameter training) is kernels/embeddingGrad.ts.
 */
import code from '../../../shaders/embedding.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import type { WeightDType } from '../../io/dtype';
import { packUniform, uniform } from '../gpu/buffers';
import { dispatch, linearGrid, type Binding } from '../gpu/pipeline';
import { requireBinding, requireSizes } from '../gpu/check';
import { packedBytes, weightDtypeCode } from '../gpu/weights';

const WG = 256;

/** Arguments of {@link embeddingForward}. */
export interface EmbeddingArgs {
  /** Number of tokens (rows of out). */
  readonly M: number;
  /** Hidden size. */
  readonly C: number;
  /** Rows of the table (the vocabulary size, or the rows of one chunk). */
  readonly V: number;
  /**
   * Row chunk of a split embedding (model/vocabTable.ts): the table holds rows rowStart..rowStart+V−1, and ids outside
   * that range leave their output row untouched (another chunk writes it). Absent: the whole table, ids outside
   * [0, V) give zero rows.
   */
  readonly rowStart?: number;
  /** i32 [M] token ids. */
  readonly ids: Binding;
  /** Packed weight [V, C] of dtype tableDtype. */
  readonly table: Binding;
  readonly tableDtype: WeightDType;
  /** f32 [M, C]. */
  readonly out: Binding;
  /**
   * Multiplier of every looked-up value, rounded to f32 and applied in f32 after the dtype decode (HF Gemma 3:
   * embed_scale = sqrt(hidden_size), kept by HF as an f32 buffer). Default 1: no multiply.
   */
  readonly scale?: number;
}

/**
 * Records out[m, :] = table[ids[m], :]·scale (f32 upcast of the table row, times f32(scale) in f32); ids outside
 * [0, V) give a zero row. With args.rowStart: out[m, :] = table[ids[m] − rowStart, :]·scale for ids in
 * [rowStart, rowStart + V), other rows kept.
 * @throws Error naming the tensor when a binding is smaller than its shape needs or a size is not an integer, or
 *   naming the scale when it is not a finite number;
 *   DeviceLimitError when a tensor exceeds maxStorageBufferBindingSize.
 */
export function embeddingForward(ctx: GpuContext, enc: GPUCommandEncoder, args: EmbeddingArgs): void {
  const { M, C, V } = args;
  const row0 = args.rowStart ?? 0;
  requireSizes('embedding', { M, C, V, rowStart: row0 });
  const scale = Math.fround(args.scale ?? 1);
  if (!Number.isFinite(scale)) throw new Error(`embedding: scale = ${args.scale}; expected a finite number (embed_scale, e.g. sqrt(hidden_size))`);
  requireBinding(ctx, 'embedding', `input_ids [M=${M}] i32`, args.ids, M * 4);
  requireBinding(ctx, 'embedding', `table [V=${V}, C=${C}] ${args.tableDtype}`, args.table, Math.ceil(packedBytes(args.tableDtype, V * C) / 4) * 4);
  requireBinding(ctx, 'embedding', `out [M=${M}, C=${C}] f32`, args.out, M * C * 4);
  const params = uniform(ctx, packUniform([{ u32: M }, { u32: C }, { u32: V }, { u32: row0 }, { u32: 0 }]), 'embedding.params');
  const constants = { WG, W_DTYPE: weightDtypeCode(args.tableDtype), PARTIAL: args.rowStart === undefined ? 0 : 1, ...(scale === 1 ? {} : { SCALE: scale }) };
  const spec = { label: 'embedding.forward', code, entryPoint: 'forward', bindings: ['uniform', 'read', 'read', 'rw'] as const, constants };
  dispatch(ctx, enc, spec, [params, args.ids, args.table, args.out], linearGrid(ctx, M * C, WG));
}
