/**
 * Embedding gradient (torch nn.Embedding backward, full-parameter training): dE[id, :] += scale·Σ_{m: ids[m] = id} dx[m, :]
 * as a deterministic scatter-add without float atomics. The CPU groups the batch's positions by token id with a
 * counting sort ({@link embeddingGradIndex}, O(M + U) for U distinct ids); the shader (shaders/embedding.wgsl, entry
 * point `backward`) runs one thread per (distinct id, column), which owns that element of dE and sums its positions in
 * ascending order. Cost: M·C reads of dx and U·C read-modify-writes of dE; nothing proportional to V, so a
 * 150k-row vocabulary costs the same as a 256-row one.
 */
import code from '../../../shaders/embedding.wgsl?raw';
import type { GpuContext } from '../gpu/context';
import { packUniform, uniform } from '../gpu/buffers';
import { requireBinding, requireSizes } from '../gpu/check';
import { dispatch, linearGrid, type Binding } from '../gpu/pipeline';

const WG = 256;

/**
 * The grouping of a batch's positions by token id: u32 [U | U + 1 | M] = distinct ids (ascending), segment starts,
 * positions (ascending within each segment).
 */
export interface EmbeddingGradIndex {
  /** number of distinct ids */
  readonly U: number;
  /** M */
  readonly M: number;
  readonly data: Uint32Array;
}

/**
 * Groups positions 0..M−1 of `ids` by id (counting sort).
 * @throws Error naming the position when an id is not an integer in [0, V).
 */
export function embeddingGradIndex(ids: ArrayLike<number>, V: number): EmbeddingGradIndex {
  const M = ids.length;
  const count = new Map<number, number>();
  for (let m = 0; m < M; m++) {
    const id = ids[m] as number;
    if (!Number.isInteger(id) || id < 0 || id >= V) throw new Error(`embedding gradient: input_ids[${m}] = ${id} is outside the vocabulary [0, ${V})`);
    count.set(id, (count.get(id) ?? 0) + 1);
  }
  const uniq = [...count.keys()].sort((a, b) => a - b);
  const U = uniq.length;
  const data = new Uint32Array(2 * U + 1 + M);
  const next = new Map<number, number>();
  let off = 0;
  uniq.forEach((id, u) => {
    data[u] = id;
    data[U + u] = off;
    next.set(id, off);
    off += count.get(id) as number;
  });
  data[2 * U] = M;
  for (let m = 0; m < M; m++) {
    const id = ids[m] as number;
    const k = next.get(id) as number;
    data[2 * U + 1 + k] = m;
    next.set(id, k + 1);
  }
  return { U, M, data };
}

/** Arguments of {@link embeddingBackward}. */
export interface EmbeddingBackwardArgs {
  /** tokens M, distinct ids U of the index */
  readonly M: number;
  readonly U: number;
  /** hidden size */
  readonly C: number;
  /** rows of dE (the vocabulary, or one row chunk of a split table) */
  readonly V: number;
  /** first row of the chunk (default 0); ids outside [rowStart, rowStart + V) are left to other chunks */
  readonly rowStart?: number;
  /** u32 [2U + 1 + M]: {@link embeddingGradIndex}'s data, uploaded */
  readonly index: Binding;
  /** f32 [M, C]: ∂L/∂(embedding output) */
  readonly dx: Binding;
  /** f32 [V, C]: ∂L/∂E, added to */
  readonly dE: Binding;
  /** the forward's multiplier (Gemma 3 embed_scale), applied in f32 to the summed rows; default 1 */
  readonly scale?: number;
}

/**
 * Records dE[id − rowStart, :] += f32(scale)·Σ dx[m, :] over the positions m of each id in the index.
 * @throws Error naming the tensor when a binding is too small, a size is not an integer or scale is not finite;
 *   DeviceLimitError when a tensor exceeds maxStorageBufferBindingSize.
 */
export function embeddingBackward(ctx: GpuContext, enc: GPUCommandEncoder, args: EmbeddingBackwardArgs): void {
  const { M, U, C, V } = args;
  const row0 = args.rowStart ?? 0;
  const what = 'embedding.backward';
  requireSizes(what, { M, U, C, V, rowStart: row0 });
  const scale = Math.fround(args.scale ?? 1);
  if (!Number.isFinite(scale)) throw new Error(`${what}: scale = ${args.scale}; expected a finite number`);
  requireBinding(ctx, what, `index [2U+1+M = ${2 * U + 1 + M}] u32`, args.index, (2 * U + 1 + M) * 4);
  requireBinding(ctx, what, `dx [M=${M}, C=${C}] f32`, args.dx, M * C * 4);
  requireBinding(ctx, what, `dE [V=${V}, C=${C}] f32`, args.dE, V * C * 4);
  if (U === 0 || C === 0) return;
  const params = uniform(ctx, packUniform([{ u32: M }, { u32: C }, { u32: V }, { u32: row0 }, { u32: U }]), `${what}.params`);
  const constants = { WG, ...(scale === 1 ? {} : { SCALE: scale }) };
  const spec = { label: what, code, entryPoint: 'backward', bindings: ['uniform', 'read', 'read', 'rw'] as const, constants };
  dispatch(ctx, enc, spec, [params, args.index, args.dx, args.dE], linearGrid(ctx, U * C, WG));
}
